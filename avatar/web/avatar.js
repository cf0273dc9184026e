// Eco-1 avatar renderer: draws the tutor's face on a canvas from 60 Hz motion frames.
// Frames arrive on the "motion" data channel as the server hands the matching audio to
// WebRTC; the page holds them back by the audio's measured playout delay so the lips
// move when the sound is heard (docs/protocol.md, "motion").
"use strict";

// Blendshape order comes from the server (GET /api/avatar/schema), the one source of truth.
let IDX = {};
// Frames are held at most this long: the queue keeps 10 s, and a longer wait means a
// connection too slow to talk over anyway.
const MAX_DELAY_MS = 5000;
fetch("/api/avatar/schema")
  .then((response) => response.json())
  .then((schema) => { IDX = Object.fromEntries(schema.blendshapes.map((name, i) => [name, i])); });


class AvatarRenderer {
  constructor(canvas) {
    this.canvas = canvas;
    this.ctx = canvas.getContext("2d");
    this.queue = [];           // [arrivalMs, frame]
    this.delayMs = 60;         // audio playout delay estimate, refreshed from WebRTC stats
    this.lastBuffer = { total: 0, count: 0 };  // jitter-buffer totals at the last refresh
    this.current = null;
    this.face = { jawOpen: 0, state: "idle", gesture: null };
    this.history = [];         // [ms, jawOpen, audioLevel] for tests and debugging
    this.levelOf = () => 0;
    requestAnimationFrame((t) => this.loop(t));
  }

  push(frame) {
    this.queue.push([performance.now(), frame]);
    if (this.queue.length > 600) this.queue.splice(0, this.queue.length - 600);
  }

  loop() {
    const due = performance.now() - this.delayMs;
    while (this.queue.length && this.queue[0][0] <= due) this.current = this.queue.shift()[1];
    if (this.current) this.draw(this.current);
    requestAnimationFrame((t) => this.loop(t));
  }

  draw(frame) {
    const bs = (name) => (name in IDX ? frame.bs[IDX[name]] : 0) || 0;
    const { ctx, canvas } = this;
    const w = canvas.width, h = canvas.height;
    const [qw, qx, qy, qz] = frame.head;
    const yaw = Math.atan2(2 * (qw * qy + qx * qz), 1 - 2 * (qy * qy + qx * qx));
    const pitch = Math.asin(Math.max(-1, Math.min(1, 2 * (qw * qx - qy * qz))));
    const roll = Math.atan2(2 * (qw * qz + qx * qy), 1 - 2 * (qx * qx + qz * qz));
    ctx.clearRect(0, 0, w, h);
    ctx.save();
    ctx.translate(w / 2 + yaw * 300, h / 2 + pitch * 300);
    ctx.rotate(roll);
    // head
    ctx.fillStyle = "#f1c9a5";
    ctx.beginPath(); ctx.ellipse(0, 0, 110, 140, 0, 0, 2 * Math.PI); ctx.fill();
    ctx.fillStyle = "#5b3a1e";
    ctx.beginPath(); ctx.ellipse(0, -95, 112, 55, 0, Math.PI, 2 * Math.PI); ctx.fill();
    // eyes, lids and pupils
    const gx = frame.gaze[0] * 40, gy = -frame.gaze[1] * 40;
    for (const [side, blink] of [[-1, bs("eyeBlinkLeft")], [1, bs("eyeBlinkRight")]]) {
      const ex = side * 42, ey = -25, open = Math.max(0.05, 1 - blink);
      ctx.fillStyle = "#fff";
      ctx.beginPath(); ctx.ellipse(ex, ey, 20, 13 * open, 0, 0, 2 * Math.PI); ctx.fill();
      if (open > 0.3) {
        ctx.fillStyle = "#2d4a6b";
        ctx.beginPath(); ctx.arc(ex + gx, ey + gy, 7, 0, 2 * Math.PI); ctx.fill();
      }
      // brows
      const lift = 14 * bs("browInnerUp") + 8 * bs(side < 0 ? "browOuterUpLeft" : "browOuterUpRight");
      ctx.strokeStyle = "#5b3a1e"; ctx.lineWidth = 5;
      ctx.beginPath(); ctx.moveTo(ex - 20 * side, ey - 24 - lift); ctx.lineTo(ex + 20 * side, ey - 20 - lift * 0.5); ctx.stroke();
    }
    // mouth
    const jaw = bs("jawOpen"), pucker = bs("mouthPucker"), funnel = bs("mouthFunnel");
    const stretch = (bs("mouthStretchLeft") + bs("mouthStretchRight")) / 2;
    const smile = (bs("mouthSmileLeft") + bs("mouthSmileRight")) / 2;
    const press = (bs("mouthPressLeft") + bs("mouthPressRight")) / 2 + bs("mouthClose");
    const halfWidth = 34 * (1 + 0.35 * stretch + 0.25 * smile - 0.45 * pucker - 0.2 * funnel);
    const open = Math.max(0, 46 * jaw + 10 * funnel - 6 * press);
    const my = 62, corner = -10 * smile;
    ctx.fillStyle = "#7a2630"; ctx.strokeStyle = "#a2424c"; ctx.lineWidth = 4;
    ctx.beginPath();
    ctx.moveTo(-halfWidth, my + corner);
    ctx.quadraticCurveTo(0, my - open * 0.35 - 4 * smile, halfWidth, my + corner);
    ctx.quadraticCurveTo(0, my + open + 6 * smile, -halfWidth, my + corner);
    ctx.closePath(); ctx.fill(); ctx.stroke();
    if (bs("tongueOut") > 0.1) {
      ctx.fillStyle = "#d9707a";
      ctx.beginPath(); ctx.ellipse(0, my + open * 0.5, 12, 6 * bs("tongueOut") + 2, 0, 0, Math.PI); ctx.fill();
    }
    ctx.restore();
    ctx.fillStyle = "#24563f"; ctx.font = "14px system-ui";
    const label = frame.gesture ? `${frame.state} · ${frame.gesture}` : frame.state;
    ctx.fillText(label, 10, h - 12);
    this.face = { jawOpen: jaw, state: frame.state, gesture: frame.gesture, t: frame.t };
    this.history.push([performance.now(), jaw, this.levelOf()]);
    if (this.history.length > 3000) this.history.splice(0, 1000);
  }

  // Track how long received audio waits before it is played, from the browser's own stats.
  // The wait is measured over the last interval, not the whole session: when the server
  // falls behind, the browser conceals the gap and plays the late audio seconds behind, and
  // a session-long average would move the lips before the sound is heard.
  async refreshDelay(pc) {
    if (!pc) return;
    const stats = await pc.getStats();
    stats.forEach((report) => {
      if (report.type !== "inbound-rtp" || report.kind !== "audio") return;
      const total = report.jitterBufferDelay, count = report.jitterBufferEmittedCount;
      const last = this.lastBuffer;
      if (count > last.count) {
        const waitMs = (1000 * (total - last.total)) / (count - last.count);
        this.delayMs = Math.min(MAX_DELAY_MS, Math.max(20, waitMs + 20));
      }
      this.lastBuffer = { total, count };
    });
  }

  // Loudness of what the learner hears, so tests (and you) can compare lips with sound.
  listenTo(stream) {
    const audio = new AudioContext();
    const analyser = audio.createAnalyser();
    analyser.fftSize = 512;
    audio.createMediaStreamSource(stream).connect(analyser);
    const data = new Float32Array(analyser.fftSize);
    this.levelOf = () => {
      analyser.getFloatTimeDomainData(data);
      let sum = 0;
      for (const x of data) sum += x * x;
      return Math.sqrt(sum / data.length);
    };
  }
}

window.AvatarRenderer = AvatarRenderer;
