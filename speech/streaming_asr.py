"""Streaming Whisper: interim transcripts during speech, and a final pass started early.

Segmented recognition waits for the VAD to report the end of speech (`stop_secs` of quiet)
and only then starts Whisper, which costs ~0.3-0.7 s here whatever the audio length. This
service watches the VAD's state instead:

- while the learner speaks, every `interim_interval_s` of new speech it transcribes what it
  has (greedy by default) and pushes an InterimTranscriptionFrame;
- at the first quiet frame (VAD state STOPPING) it starts the final pass on the speech so
  far, padded with silence exactly as a segmented pass is. If speech resumes, that pass is
  void and its result is never used; if the VAD confirms the stop, the final transcript is
  that pass's result, often ready by then.

The speech after the first quiet frame is, by the VAD's judgement, silence, so the final
pass hears the same words a segmented pass would; `eco1 eval asr-streaming` measures the
word error rate of both on the same audio.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np
from loguru import logger
from pipecat.audio.vad.vad_analyzer import VADState
from pipecat.frames.frames import (
    Frame,
    InputAudioRawFrame,
    InterimTranscriptionFrame,
    TranscriptionFrame,
    VADUserStartedSpeakingFrame,
)
from pipecat.processors.frame_processor import FrameDirection
from pipecat.transcriptions.language import Language
from pipecat.utils.time import time_now_iso8601

from speech.asr import SharedWhisperSTTService
from speech.frames import ProvisionalTranscriptFrame
from speech.turns import ObservedSileroVAD


@dataclass
class SpeculativeFinal:
    """A final pass started at the first quiet frame; `void` once speech resumed."""

    pcm: bytes
    task: asyncio.Task[str] = field(init=False)
    void: bool = False


@dataclass
class TranscriptSpeculationCounts:
    """How the early final passes ended: used as the transcript, or voided by more speech."""

    stage: ClassVar[str] = "asr"  # the label of /metrics' eco1_speculations
    used: int = 0
    voided: int = 0


class StreamingWhisperSTTService(SharedWhisperSTTService):
    """SharedWhisperSTTService plus interim passes and a speculative final pass.

    Call `follow(vad)` with the VAD analyzer the user-turn aggregator runs, so the service
    sees its STOPPING state (Pipecat's frames only announce the confirmed stop).
    """

    def __init__(
        self, *, interim_interval_s: float = 2.0, interim_beam_size: int = 1, **kwargs
    ) -> None:
        super().__init__(**kwargs)
        self._interim_bytes = 0  # set in setup, once the sample rate is known
        self._interim_interval_s = interim_interval_s
        self._interim_beam = interim_beam_size
        self._interim_task: asyncio.Task | None = None
        self._interim_mark = 0  # buffer length at the last interim pass
        self._segment = 0  # bumps at every speech start; stale interims are dropped
        self._speculation: SpeculativeFinal | None = None
        self.speculations = TranscriptSpeculationCounts()

    def follow(self, vad: ObservedSileroVAD) -> None:
        vad.add_listener(self._on_vad_state)

    async def setup(self, setup) -> None:
        await super().setup(setup)
        self._interim_bytes = int(self.sample_rate * 2 * self._interim_interval_s)

    # -- the early final pass -------------------------------------------------------------

    def _on_vad_state(self, previous: VADState, state: VADState) -> None:
        if state == VADState.STOPPING and previous == VADState.SPEAKING and self.is_usable:
            self._void_speculation()
            speculation = SpeculativeFinal(bytes(self._audio_buffer) + self._trailing_silence())
            speculation.task = self.create_task(
                self._speculative_pass(speculation), name="speculative-final"
            )
            self._speculation = speculation
        elif state == VADState.SPEAKING and previous == VADState.STOPPING:
            self._void_speculation()

    def _void_speculation(self) -> None:
        if self._speculation is not None and not self._speculation.void:
            self._speculation.void = True
            self.speculations.voided += 1
            # A pass already running cannot be interrupted inside CTranslate2; it finishes
            # on its thread and its result is dropped.

    async def _final_pass(self, pcm: bytes) -> str:
        samples = np.frombuffer(pcm, dtype=np.int16)
        return await asyncio.to_thread(self._transcribe, samples, self._beam_size)

    async def _speculative_pass(self, speculation: SpeculativeFinal) -> str:
        """The early final pass; unless speech resumed, its text goes downstream as
        provisional, so the LLM can read ahead until the turn commits.

        That holds after the VAD's stop too: the turn detector still decides for ~0.1-0.2 s
        after it, and the pass here often ends just after the stop (in a session of six
        questions, four of them), so requiring it to beat the stop lost the LLM that window.
        The provisional frame always goes ahead of the transcript (run_stt awaits this task),
        so it never arrives after the turn it belongs to has committed."""
        text = await self._final_pass(speculation.pcm)
        if text and not speculation.void:
            await self.push_frame(ProvisionalTranscriptFrame(text=text))
        return text

    async def _handle_user_stopped_speaking(self, frame) -> None:
        speculation = self._speculation
        if speculation is None or speculation.void or not self.is_usable:
            self._void_speculation()  # its text, if it comes, is not this turn's
            self._speculation = None
            await super()._handle_user_stopped_speaking(frame)
            return
        # The early pass heard everything up to the first quiet frame; what came after was
        # quiet by the VAD's judgement and stands in the padding. Queue the same bytes so
        # run_stt knows to take that pass's result, in order with any other segment.
        self._user_speaking = False
        self._audio_buffer.clear()
        self._record_stt_audio_usage(speculation.pcm)
        await self.emit_stt_usage_metrics()
        await self._segment_queue.put(speculation.pcm)

    async def run_stt(self, audio: bytes) -> AsyncGenerator[Frame, None]:
        speculation = self._speculation
        if speculation is None or audio is not speculation.pcm:
            async for frame in super().run_stt(audio):
                yield frame
            return
        self._speculation = None
        self.speculations.used += 1
        await self.start_processing_metrics()
        text = await speculation.task
        await self.stop_processing_metrics()
        if text:
            yield TranscriptionFrame(text, self._user_id, time_now_iso8601(), Language.EN)

    # -- interim transcripts --------------------------------------------------------------

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        if isinstance(frame, VADUserStartedSpeakingFrame):
            self._segment += 1
            self._interim_mark = 0
        await super().process_frame(frame, direction)

    async def process_audio_frame(self, frame: InputAudioRawFrame, direction) -> None:
        await super().process_audio_frame(frame, direction)
        if (
            self._interim_bytes
            and self._user_speaking
            and self._interim_task is None
            and (self._speculation is None or self._speculation.void)
            and len(self._audio_buffer) - self._interim_mark >= self._interim_bytes
        ):
            self._interim_mark = len(self._audio_buffer)
            pcm = bytes(self._audio_buffer)
            self._interim_task = self.create_task(
                self._interim_pass(pcm, self._segment), name="interim-pass"
            )

    async def _interim_pass(self, pcm: bytes, segment: int) -> None:
        try:
            samples = np.frombuffer(pcm, dtype=np.int16)
            text = await asyncio.to_thread(self._transcribe, samples, self._interim_beam)
            if text and segment == self._segment and self._user_speaking:
                await self.push_frame(
                    InterimTranscriptionFrame(text, self._user_id, time_now_iso8601(), Language.EN)
                )
        except Exception as error:  # an interim is a preview: losing one loses nothing
            logger.warning("interim transcription failed: {}", error)
        finally:
            self._interim_task = None
