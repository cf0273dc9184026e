"""A real aiortc WebRTC client that talks to the tutor over loopback, as a learner would.

It streams speech (16-bit PCM) in real time on its microphone track, then silence, and
records what comes back: the tutor's audio (with the wall-clock time of the first audible
sample of each answer) and every data-channel event. Tests and the latency eval share it.
"""

from __future__ import annotations

import asyncio
import fractions
import json
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
import numpy as np
from aiortc import MediaStreamTrack, RTCPeerConnection, RTCSessionDescription
from av import AudioFrame, VideoFrame

MIC_RATE = 48000
FRAME_SAMPLES = 960  # 20 ms at 48 kHz, what Opus carries per packet
AUDIBLE_RMS = 300.0  # int16 RMS above which received audio counts as speech


class MicrophoneTrack(MediaStreamTrack):
    """A paced mono microphone: queued speech first, silence whenever nothing is queued."""

    kind = "audio"

    def __init__(self) -> None:
        super().__init__()
        self._pending = np.zeros(0, dtype=np.int16)
        self._pts = 0
        self._start: float | None = None
        self.speech_end_time: float | None = None  # wall time the last queued sample left

    def say(self, pcm: np.ndarray) -> float:
        """Queue 48 kHz int16 speech; returns its duration in seconds."""
        self._pending = np.concatenate([self._pending, pcm.astype(np.int16)])
        self.speech_end_time = None
        return len(pcm) / MIC_RATE

    @property
    def speaking(self) -> bool:
        return len(self._pending) > 0

    async def recv(self) -> AudioFrame:
        if self._start is None:
            self._start = time.monotonic()
        due = self._start + self._pts / MIC_RATE
        await asyncio.sleep(max(0.0, due - time.monotonic()))
        chunk = self._pending[:FRAME_SAMPLES]
        self._pending = self._pending[FRAME_SAMPLES:]
        if len(chunk) and not len(self._pending):
            self.speech_end_time = time.time() + len(chunk) / MIC_RATE
        samples = np.zeros(FRAME_SAMPLES, dtype=np.int16)
        samples[: len(chunk)] = chunk
        frame = AudioFrame.from_ndarray(samples.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = MIC_RATE
        frame.pts = self._pts
        frame.time_base = fractions.Fraction(1, MIC_RATE)
        self._pts += FRAME_SAMPLES
        return frame


class CameraTrack(MediaStreamTrack):
    """A paced camera that plays uint8 RGB frames (H, W, 3) from an iterator, looping none."""

    kind = "video"

    def __init__(self, frames, fps: float = 10.0) -> None:
        super().__init__()
        self._frames = iter(frames)
        self.fps = fps
        self._count = 0
        self._start: float | None = None

    async def recv(self) -> VideoFrame:
        if self._start is None:
            self._start = time.monotonic()
        await asyncio.sleep(max(0.0, self._start + self._count / self.fps - time.monotonic()))
        frame = VideoFrame.from_ndarray(np.ascontiguousarray(next(self._frames)), format="rgb24")
        frame.pts = int(self._count * 90000 / self.fps)
        frame.time_base = fractions.Fraction(1, 90000)
        self._count += 1
        return frame


@dataclass
class ReceivedAudio:
    """The tutor's audio as it arrived, with arrival wall times of audible frames."""

    samples: list[np.ndarray] = field(default_factory=list)
    sample_rate: int = MIC_RATE
    audible_times: list[float] = field(default_factory=list)

    def pcm(self) -> np.ndarray:
        return np.concatenate(self.samples) if self.samples else np.zeros(0, dtype=np.int16)

    def first_audible_after(self, moment: float) -> float | None:
        return next((t for t in self.audible_times if t >= moment), None)

    def fell_silent_after(self, moment: float, gap_s: float, now: float) -> float | None:
        """When the audio fell silent after `moment` for at least `gap_s` (the last audible
        frame's arrival), or None if it has not (as of `now`)."""
        last = moment
        for t in self.audible_times:
            if t < moment:
                continue
            if t - last >= gap_s:
                return last
            last = t
        return last if now - last >= gap_s else None


class TutorClient:
    """One learner connection: offer over HTTP, mic track out, audio and events in."""

    def __init__(
        self, base_url: str, token: str | None = None, camera: CameraTrack | None = None
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.pc = RTCPeerConnection()
        self.mic = MicrophoneTrack()
        self.camera = camera
        self.audio = ReceivedAudio()
        self.events: list[dict[str, Any]] = []
        self.motion: list[dict[str, Any]] = []  # avatar frames from the "motion" channel
        self.pc_id: str | None = None
        self._event_arrived = asyncio.Event()
        self._tasks: list[asyncio.Task] = []

    async def connect(self, timeout: float = 20.0) -> None:
        self.pc.addTransceiver(self.mic, direction="sendrecv")
        if self.camera is not None:
            self.pc.addTransceiver(self.camera, direction="sendonly")
        channel = self.pc.createDataChannel("events", ordered=True)
        channel.on("message", self._on_message)

        @self.pc.on("datachannel")
        def on_datachannel(remote_channel) -> None:
            if remote_channel.label == "motion":
                remote_channel.on("message", self._on_motion)

        @self.pc.on("track")
        def on_track(track) -> None:
            if track.kind == "audio":
                self._tasks.append(asyncio.create_task(self._read_audio(track)))

        await self.pc.setLocalDescription(await self.pc.createOffer())
        offer = {"sdp": self.pc.localDescription.sdp, "type": self.pc.localDescription.type}
        async with httpx.AsyncClient(timeout=timeout) as http:
            response = await http.post(
                f"{self.base_url}/api/offer", json=offer, headers=self.headers
            )
        response.raise_for_status()
        answer = response.json()
        self.pc_id = answer["pc_id"]
        await self.pc.setRemoteDescription(RTCSessionDescription(answer["sdp"], answer["type"]))
        await self._wait(lambda: self.pc.connectionState == "connected", timeout, "connection")
        # Speak only once the data channel is up, as the page does: until then the server's
        # receiver may still be settling and drops the first frames of audio.
        await self._wait(lambda: channel.readyState == "open", timeout, "the data channel")
        self._tasks.append(asyncio.create_task(self._ping(channel)))
        await asyncio.sleep(0.3)

    async def _ping(self, channel, interval: float = 1.0) -> None:
        """Tell the server we are alive, as the page does (see docs/protocol.md)."""
        while channel.readyState == "open":
            channel.send(json.dumps({"v": 1, "type": "ping"}))
            await asyncio.sleep(interval)

    def _on_motion(self, raw: str) -> None:
        frame = json.loads(raw)
        frame["received_at"] = time.time()
        self.motion.append(frame)

    def _on_message(self, raw: str) -> None:
        try:
            message = json.loads(raw)
        except (TypeError, json.JSONDecodeError):
            return
        message["received_at"] = time.time()
        self.events.append(message)
        self._event_arrived.set()

    async def _read_audio(self, track) -> None:
        while True:
            try:
                frame = await track.recv()
            except Exception:  # track ended: the session is over
                return
            pcm = frame.to_ndarray().reshape(-1).astype(np.int16)
            if frame.layout.name == "stereo":
                pcm = pcm.reshape(-1, 2).mean(axis=1).astype(np.int16)
            self.audio.sample_rate = frame.sample_rate
            self.audio.samples.append(pcm)
            if np.sqrt(np.mean(pcm.astype(np.float64) ** 2)) > AUDIBLE_RMS:
                self.audio.audible_times.append(time.time())

    async def _wait(self, condition, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}")
            await asyncio.sleep(0.02)

    def events_of(self, kind: str, **match: Any) -> list[dict[str, Any]]:
        return [
            e
            for e in self.events
            if e.get("type") == kind and all(e.get(k) == v for k, v in match.items())
        ]

    def decision_after(self, moment: float) -> dict[str, Any] | None:
        """The controller's decision for the turn spoken before `moment` (its `controller`
        event comes before the answer), or None where the service sent none."""
        decided = [e for e in self.events_of("controller") if e["received_at"] >= moment]
        return decided[0]["decision"] if decided else None

    def teaching_after(self, moment: float) -> dict[str, Any] | None:
        """What the curriculum made of the turn spoken before `moment` (its `teaching` event),
        or None where the service sent none (the stock pipeline)."""
        taught = [e for e in self.events_of("teaching") if e["received_at"] >= moment]
        if not taught:
            return None
        return {key: taught[0].get(key) for key in ("mode", "concept", "facet")}

    async def wait_event(self, kind: str, timeout: float, after: float = 0.0, **match: Any) -> dict:
        """The first event of this kind (and fields) received at or after `after`."""

        def found() -> dict | None:
            return next(
                (e for e in self.events_of(kind, **match) if e["received_at"] >= after), None
            )

        await self._wait(lambda: found() is not None, timeout, f"a {kind} event {match or ''}")
        return found()  # type: ignore[return-value]

    async def wait_audio_after(self, moment: float, timeout: float) -> float:
        """Wall time of the first audible tutor audio at or after `moment` (TimeoutError if
        none arrives within timeout)."""
        await self._wait(
            lambda: self.audio.first_audible_after(moment) is not None, timeout, "tutor audio"
        )
        return self.audio.first_audible_after(moment)  # type: ignore[return-value]

    async def say(self, pcm_48k: np.ndarray) -> float:
        """Speak and wait until the last sample has left; returns that wall time."""
        duration = self.mic.say(pcm_48k)
        await self._wait(lambda: self.mic.speech_end_time is not None, duration + 10, "speech sent")
        return self.mic.speech_end_time  # type: ignore[return-value]

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await self.pc.close()
