"""The live avatar: a Pipecat processor after transport.output() that streams motion at 60 Hz.

It sits after the output transport, so it sees each TTS audio frame when that audio has
just been handed to WebRTC: the session's audio clock. Each Piper alignment is anchored at
the moment its first audio leaves (re-anchored per chunk, so a gap between clauses cannot
make the lips drift), and a 60 Hz ticker sends the face for "now": idle, listening,
thinking or speaking.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import numpy as np
from pipecat.frames.frames import (
    AggregatedTextFrame,
    BotStartedSpeakingFrame,
    BotStoppedSpeakingFrame,
    CancelFrame,
    EndFrame,
    Frame,
    InterruptionFrame,
    StartFrame,
    TTSAudioRawFrame,
    UserStartedSpeakingFrame,
    UserStoppedSpeakingFrame,
)
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor

from avatar.motion import FPS, MotionGenerator, default_action
from avatar.visemes import viseme_segments
from planner.frames import PlanActionFrame
from speech.frames import PhonemeAlignmentFrame

SendMotion = Callable[[dict[str, Any]], Awaitable[None]]


def audio_seconds(frame: TTSAudioRawFrame) -> float:
    return len(frame.audio) / (2 * frame.num_channels * frame.sample_rate)


class SpeechClockStamper(FrameProcessor):
    """Before the output transport: stamps each alignment with its place in the TTS stream."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._pushed_s = 0.0

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        if isinstance(frame, InterruptionFrame):
            self._pushed_s = 0.0  # the output transport drops what it had queued
        elif isinstance(frame, PhonemeAlignmentFrame):
            frame.stream_offset_s = self._pushed_s
        elif isinstance(frame, TTSAudioRawFrame) and direction == FrameDirection.DOWNSTREAM:
            self._pushed_s += audio_seconds(frame)
        await self.push_frame(frame, direction)


class AvatarMotionProcessor(FrameProcessor):
    """Turns speech, turn-taking and the clock into MotionFrames sent through `send`."""

    def __init__(
        self,
        send: SendMotion,
        *,
        seed: int = 0,
        clock=time.monotonic,
        on_lag: Callable[[float], None] | None = None,
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        self._send = send
        self._on_lag = on_lag  # motion_lag_ms: audio handed to WebRTC → first frame showing it
        self._lag_marks: list[float] = []  # motion-clock times of audio awaiting its first frame
        self._clock = clock
        self._origin = clock()
        self.generator = MotionGenerator(seed=seed)
        self._pending: list[PhonemeAlignmentFrame] = []
        self._written_s = 0.0  # TTS audio handed to WebRTC since the last interruption
        self._ticker: asyncio.Task | None = None
        self.frames_sent = 0
        self._turn_has_action = False

    def now(self) -> float:
        """Seconds on this session's motion clock."""
        return self._clock() - self._origin

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        if isinstance(frame, StartFrame):
            self._ticker = asyncio.create_task(self._tick())
        elif isinstance(frame, (EndFrame, CancelFrame)):
            await self._stop_ticker()
        elif isinstance(frame, PhonemeAlignmentFrame):
            self._pending.append(frame)
            return  # consumed here; nothing downstream needs it
        elif isinstance(frame, TTSAudioRawFrame):
            self.on_audio_written(frame)
        elif isinstance(frame, UserStartedSpeakingFrame):
            self.generator.set_state("listening", self.now())
        elif isinstance(frame, UserStoppedSpeakingFrame):
            self.generator.set_state("thinking", self.now())
            self._turn_has_action = False  # a new turn: its action is still to come
        elif isinstance(frame, BotStartedSpeakingFrame):
            self.generator.set_state("speaking", self.now())
            # The action's gesture plays as the answer starts, not while it was being written.
            self.generator.set_action(self.generator.action, self.now())
        elif isinstance(frame, PlanActionFrame):
            self.generator.set_action(frame.action, self.now())
            self._turn_has_action = True
        elif isinstance(frame, AggregatedTextFrame) and not self._turn_has_action:
            # Without a planner in the pipeline, the first sentence suggests the action.
            self.generator.set_action(default_action(frame.text), self.now())
            self._turn_has_action = True
        elif isinstance(frame, BotStoppedSpeakingFrame):
            self.generator.set_state("idle", self.now())
        elif isinstance(frame, InterruptionFrame):
            self._pending.clear()
            self._written_s = 0.0
        await self.push_frame(frame, direction)

    def on_audio_written(self, frame: TTSAudioRawFrame) -> None:
        """Anchor every alignment whose audio starts inside this frame at the time it left."""
        written_at = self.now()
        self._lag_marks.append(written_at)
        begin = self._written_s
        self._written_s += audio_seconds(frame)
        while self._pending and (self._pending[0].stream_offset_s or 0.0) < self._written_s:
            item = self._pending.pop(0)
            anchor = written_at + max(0.0, (item.stream_offset_s or 0.0) - begin)
            pairs = [(a.phoneme, a.num_samples) for a in item.alignments]
            last = self.generator.segments[-1].end_s if self.generator.segments else 0.0
            self.generator.add_speech(
                viseme_segments(pairs, item.sample_rate, offset_s=max(anchor, last))
            )
        samples = np.frombuffer(frame.audio, dtype=np.int16)
        if len(samples):
            rms = float(np.sqrt(np.mean((samples.astype(np.float32) / 32768.0) ** 2)))
            self.generator.add_loudness(written_at, min(1.0, rms * 4.0))

    async def _tick(self) -> None:
        period = 1.0 / FPS
        next_tick = self._clock()
        while True:
            frame = self.generator.frame_at(self.now())
            try:
                await self._send(frame.to_wire())
                self.frames_sent += 1
            except Exception:  # a closing channel must not end the session
                pass
            self._report_lag(frame.t)
            if frame.seq % FPS == 0:
                self.generator.forget_before(frame.t - 2.0)
            next_tick += period
            await asyncio.sleep(max(0.0, next_tick - self._clock()))

    def _report_lag(self, shown_t: float) -> None:
        """Every audio chunk written before this frame's time is now shown: report its lag."""
        sent_at = self.now()
        while self._lag_marks and self._lag_marks[0] <= shown_t:
            written_at = self._lag_marks.pop(0)
            if self._on_lag:
                self._on_lag((sent_at - written_at) * 1000.0)

    async def _stop_ticker(self) -> None:
        if self._ticker:
            self._ticker.cancel()
            self._ticker = None

    async def cleanup(self) -> None:
        await self._stop_ticker()
        await super().cleanup()
