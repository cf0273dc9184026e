// Eco-1 tutor page: mic (+ camera) in over WebRTC, tutor audio out, live transcript.
// Protocol: docs/protocol.md. Everything here is served by the Eco-1 server; no CDN.
"use strict";

const $ = (id) => document.getElementById(id);
const state = {
  pc: null, channel: null, tutorLine: null, userDraft: null, events: [], motionFrames: 0,
};
state.avatar = new AvatarRenderer($("avatar"));
window.eco1 = state; // read by the browser tests

// How a turn's answer was made (the "teaching" event's mode; docs/tutoring.md).
const MODES = {
  facet: "from the curriculum, no model",
  arithmetic: "computed exactly, no model",
  grade: "your answer graded, no model",
  hedge: "unsure: the curriculum has no exact answer",
  abstain: "outside the curriculum: not guessed",
  social: "small talk, no model",
};

function setStatus(text, kind) {
  $("status").textContent = text;
  $("status").dataset.state = kind;
}

function addLine(role, text) {
  const item = document.createElement("li");
  item.className = role;
  item.textContent = text;
  $("transcript").appendChild(item);
  item.scrollIntoView({ block: "end" });
  return item;
}

function onMessage(raw) {
  let message;
  try { message = JSON.parse(raw); } catch { return; }
  state.events.push(message);
  if (message.type === "transcript" && message.role === "user" && !message.final) {
    // An interim transcript while the learner still speaks: one draft line, replaced below.
    if (!state.userDraft) state.userDraft = addLine("user draft", "");
    state.userDraft.textContent = message.text;
  } else if (message.type === "transcript" && message.role === "user" && message.final) {
    if (state.userDraft) {
      state.userDraft.className = "user";
      state.userDraft.textContent = message.text;
    } else {
      addLine("user", message.text);
    }
    state.userDraft = null;
    state.tutorLine = null;
    $("thinking").textContent = "";
    $("thinking-box").hidden = true;
  } else if (message.type === "transcript" && message.role === "tutor") {
    if (!state.tutorLine) state.tutorLine = addLine("tutor", "");
    state.tutorLine.textContent = (state.tutorLine.textContent + " " + message.text).trim();
  } else if (message.type === "continued") {
    // The learner went on after a pause the tutor took for the end: one question, shown whole.
    const asked = document.querySelectorAll("#transcript .user");
    if (asked.length) asked[asked.length - 1].textContent = message.question;
  } else if (message.type === "speaking" && message.role === "user" && message.speaking) {
    state.tutorLine = null;
  } else if (message.type === "action") {
    $("action-text").textContent = message.action;
  } else if (message.type === "latency") {
    const s = message.stages;
    $("latency").textContent = `turn ${message.turn}: voice-to-voice ${Math.round(s.v2v_ms ?? 0)} ms, ` +
      `commit-to-audio ${Math.round(s.commit_to_audio_ms ?? 0)} ms`;
  } else if (message.type === "thinking") {
    $("thinking-box").hidden = false;
    $("thinking").textContent += message.text;
  } else if (message.type === "citations") {
    $("sources").replaceChildren(...message.citations.map((c) => {
      const item = document.createElement("li");
      item.textContent = `[${c.n}] ${c.title} (${c.source})`;
      return item;
    }));
  } else if (message.type === "controller") {
    if (message.source === "facets") return;  // the teaching event already says what is spoken
    const d = message.decision;
    $("controller").textContent = `compute: ${message.source ?? "model"}, ` +
      `${d.think_tokens ? `think ≤${d.think_tokens} tokens` : "no thinking"}` +
      `${d.critique_rounds ? `, ${d.critique_rounds} critique` : ""} on ${d.tier} · ` +
      `expected ${Math.round(message.predicted_p95_ms)} ms (p95) · λ latency ${message.lambda_latency.toFixed(2)}`;
  } else if (message.type === "teaching") {
    const known = message.mastery === null ? "" : ` · mastery ${Math.round(100 * message.mastery)}%`;
    const where = message.concept_name ? `${message.concept_name} (${message.subject})${known}` : "–";
    const graded = message.grade ? ` · your answer: ${message.grade.replace("_", " ")}` : "";
    $("concept-text").textContent = where;
    $("controller").textContent = MODES[message.mode] ? `compute: ${MODES[message.mode]}${graded}` : "";
  } else if (message.type === "perception") {
    const face = message.face_present === null ? "no camera" : message.face_present ? "face seen" : "no face";
    $("perception").textContent = `camera: ${face} · motion ${message.motion_energy.toFixed(3)} · ` +
      `you spoke ${Math.round(100 * message.speaking_fraction)}% of the last seconds`;
  }
}

function waitForIce(pc) {
  if (pc.iceGatheringState === "complete") return Promise.resolve();
  return new Promise((resolve) => {
    const check = () => { if (pc.iceGatheringState === "complete") resolve(); };
    pc.addEventListener("icegatheringstatechange", check);
    setTimeout(resolve, 2000); // host candidates are enough on a LAN
  });
}

async function connect() {
  $("connect").disabled = true;
  setStatus("connecting…", "busy");
  try {
    const wantCamera = $("use-camera").checked;
    const media = await navigator.mediaDevices.getUserMedia({ audio: true, video: wantCamera });
    $("self-view").srcObject = media;
    const pc = new RTCPeerConnection({ iceServers: await iceServers() });
    state.pc = pc;
    // Transceiver order matters to the server: audio first, then video.
    pc.addTransceiver(media.getAudioTracks()[0], { direction: "sendrecv" });
    const camera = media.getVideoTracks()[0];
    if (camera) pc.addTransceiver(camera, { direction: "sendrecv" });
    else pc.addTransceiver("video", { direction: "recvonly" });
    pc.ontrack = (event) => {
      if (event.track.kind !== "audio") return;
      const stream = new MediaStream([event.track]);
      $("tutor-audio").srcObject = stream;
      state.avatar.listenTo(stream);
    };
    pc.ondatachannel = (event) => {
      if (event.channel.label !== "motion") return;
      event.channel.onmessage = (message) => {
        const frame = JSON.parse(message.data);
        state.motionFrames += 1;
        state.avatar.push(frame);
        if ($("state-text").textContent !== frame.state) $("state-text").textContent = frame.state;
        const gesture = frame.gesture ? ` · ${frame.gesture}` : "";
        if ($("gesture-text").textContent !== gesture) $("gesture-text").textContent = gesture;
      };
    };
    state.delayTimer = setInterval(() => state.avatar.refreshDelay(state.pc), 500);
    pc.onconnectionstatechange = () => {
      if (pc.connectionState === "connected") setStatus("live: ask a question", "live");
      if (["failed", "disconnected"].includes(pc.connectionState)) {
        disconnect();
        explainEnd(state.pcId);
      } else if (pc.connectionState === "closed") disconnect();
    };
    state.channel = pc.createDataChannel("events", { ordered: true });
    state.channel.onmessage = (event) => onMessage(event.data);
    state.channel.onopen = () => {
      // Liveness: the server ends a session whose pings stop (docs/protocol.md).
      state.pinger = setInterval(() => {
        if (state.channel && state.channel.readyState === "open") {
          state.channel.send(JSON.stringify({ v: 1, type: "ping" }));
        }
      }, 1000);
    };

    await pc.setLocalDescription(await pc.createOffer());
    await waitForIce(pc);
    const learner = new URLSearchParams(window.location.search).get("learner");
    const headers = { "Content-Type": "application/json", ...authHeaders() };
    const response = await fetch("/api/offer", {
      method: "POST",
      headers,
      // ?learner=<id> in the page URL: a learner with a stored delta hears their own tutor.
      body: JSON.stringify({ sdp: pc.localDescription.sdp, type: pc.localDescription.type,
                             ...(learner ? { learner } : {}) }),
    });
    if (response.status === 401) throw new Error("this page needs the URL with ?token= that eco1 serve printed");
    if (!response.ok) throw new Error((await response.json()).detail || response.statusText);
    const answer = await response.json();
    state.pcId = answer.pc_id;
    await pc.setRemoteDescription({ sdp: answer.sdp, type: answer.type });
    $("disconnect").disabled = false;
  } catch (error) {
    setStatus(`error: ${error.message}`, "error");
    disconnect(false);
  }
}

// The API token comes in the URL `eco1 serve` prints (…/?token=…); it goes in a header.
function authHeaders() {
  const token = new URLSearchParams(window.location.search).get("token");
  return token ? { Authorization: `Bearer ${token}` } : {};
}

// STUN/TURN from the server (server.ice_servers; docs/deploy.md): a learner whose network
// drops UDP reaches the tutor only through TURN. None configured, or no answer: host
// candidates only, which is all a LAN or loopback needs.
async function iceServers() {
  try {
    const response = await fetch("/api/ice-servers", { headers: authHeaders() });
    return response.ok ? await response.json() : [];
  } catch (error) {
    return [];
  }
}

// A connection that drops by itself: ask the server why (on a cluster, the session's host
// may have died; docs/deploy.md) and say so, rather than just "not connected".
async function explainEnd(pcId) {
  if (!pcId) return;
  try {
    const url = `/api/sessions/${encodeURIComponent(pcId)}/events?kind=session_ended`;
    const response = await fetch(url, { headers: authHeaders() });
    const body = await response.json();
    const ended = Array.isArray(body) ? body[body.length - 1] : null;
    const reason = response.status === 410 ? body.detail : ended && ended.reason;
    if (reason) setStatus(`session ended (${reason}): press Connect to start again`, "error");
  } catch (error) {
    // The server itself is unreachable: "not connected" already says enough.
  }
}

function disconnect(resetStatus = true) {
  clearInterval(state.pinger);
  clearInterval(state.delayTimer);
  if (state.pc) {
    state.pc.getSenders().forEach((sender) => sender.track && sender.track.stop());
    state.pc.close();
  }
  state.pc = null;
  $("connect").disabled = false;
  $("disconnect").disabled = true;
  if (resetStatus) setStatus("not connected", "idle");
}

$("connect").addEventListener("click", connect);
$("disconnect").addEventListener("click", () => disconnect());
