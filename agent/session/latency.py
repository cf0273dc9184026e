"""Per-turn latency, in DESIGN.md's vocabulary, measured by watching the pipeline's frames.

An observer sees every frame push without sitting in the audio path, so timing costs the
learner nothing. Marks are wall-clock seconds (time.time()) so an in-process client in the
latency eval can line them up with its own send and receive times.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field

from pipecat.frames.frames import (
    BotStartedSpeakingFrame,
    LLMContextFrame,
    LLMTextFrame,
    TranscriptionFrame,
    TTSAudioRawFrame,
    UserStoppedSpeakingFrame,
    VADUserStartedSpeakingFrame,
    VADUserStoppedSpeakingFrame,
)
from pipecat.observers.base_observer import BaseObserver, FramePushed
from pipecat.processors.frame_processor import FrameDirection

STAGES = (
    "vad", "asr_final", "turn_end", "llm_ttft", "tts_first", "commit_to_audio_ms", "v2v_ms",
)  # fmt: skip


@dataclass
class TurnTimings:
    """Wall-clock marks of one learner turn, from speech end to the first answer audio."""

    speech_end: float | None = None  # last speech sample, as the VAD reports it
    vad_stopped: float | None = None
    transcript: float | None = None
    committed: float | None = None
    llm_request: float | None = None
    llm_first_token: float | None = None
    tts_first_audio: float | None = None
    audio_out: float | None = None
    text: str = ""

    def stages(self) -> dict[str, float]:
        """Milliseconds per stage; a stage whose two marks are not both known is left out."""
        spans = {
            "vad": (self.speech_end, self.vad_stopped),
            "asr_final": (self.vad_stopped, self.transcript),
            # The VAD's stop to the commit: mostly the turn model deciding the learner is done.
            "turn_end": (self.vad_stopped, self.committed),
            "llm_ttft": (self.llm_request, self.llm_first_token),
            # From the first token, so waiting for a whole clause (or sentence) counts.
            "tts_first": (self.llm_first_token, self.tts_first_audio),
            "commit_to_audio_ms": (self.committed, self.audio_out),
            "v2v_ms": (self.speech_end, self.audio_out),
        }
        return {
            name: round((end - start) * 1000.0, 2)
            for name, (start, end) in spans.items()
            if start is not None and end is not None
        }


@dataclass
class TurnRecord:
    """A finished turn: its index in the session, transcript, stage times and raw marks."""

    session_id: str
    index: int
    text: str
    stages: dict[str, float]
    marks: dict[str, float | None] = field(default_factory=dict)


TurnCallback = Callable[[TurnRecord], Awaitable[None]]


class TurnLatencyObserver(BaseObserver):
    """Builds one TurnRecord per answered turn and hands it to on_turn."""

    def __init__(self, session_id: str, on_turn: TurnCallback, clock=time.time) -> None:
        super().__init__()
        self._session_id = session_id
        self._on_turn = on_turn
        self._clock = clock
        self._turn = TurnTimings()
        self._index = 0

    async def on_push_frame(self, data: FramePushed) -> None:
        # Broadcast frames travel both ways as two frames; count the downstream one.
        if not (data.first_push and data.direction == FrameDirection.DOWNSTREAM):
            return
        await self.observe(data.frame)

    async def observe(self, frame) -> None:
        """Advance the current turn's marks for one frame (public for unit tests)."""
        now = self._clock()
        turn = self._turn
        if isinstance(frame, VADUserStartedSpeakingFrame):
            if turn.audio_out is not None:
                self._turn = turn = TurnTimings()
        elif isinstance(frame, VADUserStoppedSpeakingFrame):
            turn.vad_stopped = now
            turn.speech_end = frame.timestamp - frame.stop_secs
            turn.transcript = turn.committed = None
        elif isinstance(frame, TranscriptionFrame) and turn.vad_stopped is not None:
            turn.transcript = now
            turn.text = f"{turn.text} {frame.text}".strip()
        elif isinstance(frame, UserStoppedSpeakingFrame) and turn.committed is None:
            turn.committed = now
        elif isinstance(frame, LLMContextFrame) and turn.vad_stopped is not None:
            # The user aggregator runs the LLM just before it announces the turn's end:
            # whichever comes first is the commit.
            if not frame.speculation:
                turn.committed = turn.committed or now
            turn.llm_request = turn.llm_request or now
        elif isinstance(frame, LLMTextFrame) and turn.llm_request is not None:
            turn.llm_first_token = turn.llm_first_token or now
        elif isinstance(frame, TTSAudioRawFrame) and turn.llm_first_token is not None:
            turn.tts_first_audio = turn.tts_first_audio or now
        elif isinstance(frame, BotStartedSpeakingFrame) and turn.committed is not None:
            if turn.audio_out is None:
                turn.audio_out = now
                await self._finish(turn)

    async def _finish(self, turn: TurnTimings) -> None:
        self._index += 1
        marks = asdict(turn)
        text = marks.pop("text")
        record = TurnRecord(self._session_id, self._index, text, turn.stages(), marks)
        await self._on_turn(record)
