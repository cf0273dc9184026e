"""One tutor session from the committed turn onward: the real LLM stage and Piper TTS.

commit_to_audio is measured from handing the pipeline a finished user turn to the first TTS
audio frame leaving it, which is the span DESIGN.md's budget covers (the transport adds a
few milliseconds on top). The controller is told each latency as the live service tells it.
"""

from __future__ import annotations

import asyncio
import time

from pipecat.frames.frames import (
    Frame,
    LLMContextFrame,
    LLMFullResponseEndFrame,
    TTSAudioRawFrame,
    TTSStoppedFrame,
    TTSTextFrame,
)
from pipecat.pipeline.pipeline import Pipeline
from pipecat.pipeline.runner import WorkerRunner
from pipecat.pipeline.worker import PipelineParams, PipelineWorker
from pipecat.processors.aggregators.llm_context import LLMContext
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor

from agent.config import Settings
from agent.turn.compute import TurnCompute
from agent.turn.service import TutorLLMService
from speech.first_audio import FirstAudioGate
from speech.tts import AlignedPiperTTSService


class TurnSink(FrameProcessor):
    """Notes the first audio and the end of the answer of the turn in flight."""

    def __init__(self) -> None:
        super().__init__()
        self.first_audio = asyncio.Event()
        self.answer_done = asyncio.Event()
        self.audio_done = asyncio.Event()
        self.first_audio_at = 0.0
        self.text: list[str] = []

    def reset(self) -> None:
        self.first_audio.clear()
        self.answer_done.clear()
        self.audio_done.clear()
        self.text = []

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        if isinstance(frame, TTSAudioRawFrame) and not self.first_audio.is_set():
            self.first_audio_at = time.perf_counter()
            self.first_audio.set()
        elif isinstance(frame, TTSTextFrame):
            self.text.append(frame.text)
        elif isinstance(frame, LLMFullResponseEndFrame):
            self.answer_done.set()
        elif isinstance(frame, TTSStoppedFrame):
            self.audio_done.set()
        await self.push_frame(frame, direction)


class TurnHarness:
    """A session that asks questions one after the other and times each answer."""

    def __init__(self, settings: Settings, compute: TurnCompute, session_id: str) -> None:
        self.session_id = session_id
        self._compute = compute
        first_audio = FirstAudioGate() if settings.tts.first_clause_priority else None
        llm = TutorLLMService(
            compute.backends["embedded"], system_prompt=settings.llm.system_prompt,
            max_tokens=settings.llm.max_tokens, temperature=0.0, compute=compute,
            session_id=session_id, first_audio=first_audio,
        )  # fmt: skip
        tts = AlignedPiperTTSService(
            voice_file=settings.tts.voice_path,
            clause_min_words=settings.tts.clause_min_words,
            first_clause_words=settings.tts.first_clause_words,
            first_audio=first_audio,
        )
        self._sink = TurnSink()
        self._worker = PipelineWorker(
            Pipeline([llm, tts, self._sink]), params=PipelineParams(), enable_rtvi=False
        )
        self._task: asyncio.Task | None = None

    async def __aenter__(self) -> TurnHarness:
        runner = WorkerRunner(handle_sigint=False, check_dangling_tasks=False)
        await runner.add_workers(self._worker)
        self._task = asyncio.create_task(runner.run())
        return self

    async def __aexit__(self, *_exc) -> None:
        await self._worker.cancel()
        if self._task is not None:
            await asyncio.wait({self._task}, timeout=10)

    async def ask(self, question: str, timeout: float = 120.0) -> tuple[float, str]:
        """(commit_to_audio ms, the answer's text); returns when its audio is synthesized."""
        sink = self._sink
        sink.reset()
        context = LLMContext(messages=[{"role": "user", "content": question}])
        committed = time.perf_counter()
        await self._worker.queue_frame(LLMContextFrame(context))
        await asyncio.wait_for(sink.first_audio.wait(), timeout)
        latency_ms = (sink.first_audio_at - committed) * 1000.0
        self._compute.observe_latency(self.session_id, latency_ms)
        await asyncio.wait_for(sink.answer_done.wait(), timeout)
        try:  # the rest of the answer is synthesized before the learner speaks again
            await asyncio.wait_for(sink.audio_done.wait(), timeout)
        except TimeoutError:
            pass
        return latency_ms, " ".join(t.strip() for t in sink.text).strip()


def model_answered(settings: Settings) -> Settings:
    """The settings with every turn sent to the model (no curriculum answers): for the
    benchmarks that study the model's own compute (controller, sessions, thinking)."""
    return settings.model_copy(
        update={"tutoring": settings.tutoring.model_copy(update={"grounded": False})}
    )
