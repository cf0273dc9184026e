"""Run a speech recognizer the way a session does: audio frames → ASR → user-turn aggregator.

The aggregator runs the project's Silero VAD (and smart-turn), so the recognizer sees the
same VAD frames and states as in the server. Frames go in at real time (`paced`) or as fast
as they are taken; words do not depend on pacing, the time from the VAD's stop to the final
transcript does.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
from pipecat.frames.frames import (
    Frame,
    InputAudioRawFrame,
    InterimTranscriptionFrame,
    TranscriptionFrame,
    VADUserStoppedSpeakingFrame,
)
from pipecat.pipeline.pipeline import Pipeline
from pipecat.processors.aggregators.llm_context import LLMContext
from pipecat.processors.aggregators.llm_response_universal import LLMUserAggregatorParams
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor
from pipecat.tests.utils import SleepFrame, run_test

from agent.config import Settings
from agent.session.pipeline import speech_recognizer
from agent.session.user_turns import context_aggregators
from speech.frames import ProvisionalTranscriptFrame
from speech.streaming_asr import StreamingWhisperSTTService
from speech.turns import silero_vad, user_turn_strategies

RATE = 16000
FRAME_SAMPLES = 320  # 20 ms


@dataclass
class Recognition:
    """What one utterance produced: final and interim transcripts, and when."""

    final: str = ""
    interims: list[str] = field(default_factory=list)
    provisional: list[str] = field(default_factory=list)  # early final texts, pre-commit
    provisional_before_final: bool = True  # no provisional text came after the transcript
    vad_stop_at: float | None = None
    final_at: float | None = None
    speculations_used: int = 0  # early final passes taken as the transcript (streaming only)
    speculations_voided: int = 0  # ... dropped because speech resumed

    @property
    def final_after_vad_stop_ms(self) -> float | None:
        if self.vad_stop_at is None or self.final_at is None:
            return None
        return (self.final_at - self.vad_stop_at) * 1000.0


class _Recorder(FrameProcessor):
    """Notes transcripts and the VAD's confirmed stop as they pass, then passes them on."""

    def __init__(self, recognition: Recognition) -> None:
        super().__init__()
        self._out = recognition

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        now = time.perf_counter()
        if isinstance(frame, VADUserStoppedSpeakingFrame) and self._out.vad_stop_at is None:
            self._out.vad_stop_at = now
        elif isinstance(frame, InterimTranscriptionFrame):
            self._out.interims.append(frame.text)
        elif isinstance(frame, ProvisionalTranscriptFrame):
            self._out.provisional.append(frame.text)
            if self._out.final:
                self._out.provisional_before_final = False
        elif isinstance(frame, TranscriptionFrame):
            self._out.final = f"{self._out.final} {frame.text}".strip()
            self._out.final_at = self._out.final_at or now
        await self.push_frame(frame, direction)


async def recognize(
    pcm: np.ndarray, settings: Settings | None = None, *, paced: bool = False
) -> Recognition:
    """Feed 16 kHz int16 speech (with 0.5 s of quiet before, 1.5 s after) through the
    recognizer the settings choose (streaming or segmented), built as the server builds it."""
    settings = settings or Settings()
    turn = settings.turn
    vad = silero_vad(turn.vad_stop_secs, turn.vad_start_secs, turn.vad_confidence)
    user_turns, _ = context_aggregators(
        LLMContext(),
        LLMUserAggregatorParams(
            vad_analyzer=vad, user_turn_strategies=user_turn_strategies(turn.smart_turn)
        ),
    )
    result = Recognition()
    audio = np.concatenate(
        [np.zeros(RATE // 2, np.int16), pcm.astype(np.int16), np.zeros(RATE * 3 // 2, np.int16)]
    )
    frames: list[Frame] = []
    for start in range(0, len(audio) - FRAME_SAMPLES + 1, FRAME_SAMPLES):
        chunk = audio[start : start + FRAME_SAMPLES].tobytes()
        frames.append(InputAudioRawFrame(audio=chunk, sample_rate=RATE, num_channels=1))
        if paced:
            frames.append(SleepFrame(sleep=FRAME_SAMPLES / RATE))
    frames.append(SleepFrame(sleep=0.5))
    stt = speech_recognizer(settings, vad)
    await run_test(
        Pipeline([stt, _Recorder(result), user_turns]), frames_to_send=frames, start_timeout=30.0
    )
    if isinstance(stt, StreamingWhisperSTTService):
        result.speculations_used = stt.speculations.used
        result.speculations_voided = stt.speculations.voided
    return result
