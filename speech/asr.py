"""faster-whisper ASR as a Pipecat service, with one model per process shared by sessions.

Decoding keeps faster-whisper's beam of 5 but skips timestamps and conditioning on earlier
text, which a single spoken question never needs. `eco1 eval asr` measures the choices side
by side: greedy decoding was only ~10 % faster here and doubled the word error rate in noise.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import AsyncGenerator
from pathlib import Path

import numpy as np
from faster_whisper import WhisperModel
from pipecat.frames.frames import Frame, TranscriptionFrame
from pipecat.services.whisper.stt import WhisperSTTService
from pipecat.transcriptions.language import Language
from pipecat.utils.time import time_now_iso8601

from speech.assets import whisper_model_dir
from speech.whisper_window import transcribe_windowed

_models: dict[tuple[str, str, str, int, int], WhisperModel] = {}
_models_lock = threading.Lock()


def whisper_threads(requested: int = 0) -> int:
    """Threads for one Whisper call on the CPU: as asked, else half the cores (the LLM and
    Piper run beside it), at least one and at most four, CTranslate2's own default.

    On this 2-core host one thread was the fastest: 118 ms p50 per question against 139 on
    two and 273 on four (`eco1 eval asr-threads`, same word error rate).
    """
    return requested or max(1, min(4, (os.cpu_count() or 1) // 2))


def shared_whisper_model(
    model_dir: Path, device: str, compute_type: str, workers: int = 2, cpu_threads: int = 0
) -> WhisperModel:
    """Load a CTranslate2 whisper once; every session's service reuses it.

    With one worker CTranslate2 runs calls one at a time, so a streaming session's final
    pass would wait behind its own interim pass (or another learner's); two workers run two
    calls at once for a little more memory. `cpu_threads` 0 = `whisper_threads()`.
    """
    threads = whisper_threads(cpu_threads)
    key = (str(model_dir), device, compute_type, workers, threads)
    with _models_lock:
        if key not in _models:
            _models[key] = WhisperModel(
                str(model_dir), device=device, compute_type=compute_type, num_workers=workers,
                cpu_threads=threads,
            )  # fmt: skip
        return _models[key]


def transcribe(
    model: WhisperModel,
    pcm: np.ndarray,
    beam_size: int,
    no_speech_prob: float,
    timestamps: bool = False,
    window_s: float = 0.0,
) -> str:
    """Text of 16 kHz int16 speech; segments Whisper thinks are not speech are dropped.

    With window_s, Whisper encodes a window of at least that many seconds instead of 30
    (speech/whisper_window.py), and falls back to the full window when that goes wrong.
    """
    audio = pcm.astype(np.float32) / 32768.0
    if window_s and not timestamps:
        short = transcribe_windowed(model, audio, beam_size=beam_size, min_window_s=window_s)
        if short is not None:
            text, silence = short
            return text if silence < no_speech_prob else ""
    segments, _ = model.transcribe(
        audio,
        language="en",
        beam_size=beam_size,
        without_timestamps=not timestamps,
        condition_on_previous_text=timestamps,  # both as faster-whisper's defaults when True
    )
    return " ".join(s.text.strip() for s in segments if s.no_speech_prob < no_speech_prob).strip()


class SharedWhisperSTTService(WhisperSTTService):
    """Pipecat's segmented Whisper service, loading from a local folder via the shared cache."""

    def __init__(
        self,
        *,
        model_dir: Path | None = None,
        device: str = "cpu",
        compute_type: str = "int8",
        no_speech_prob: float = 0.6,
        beam_size: int = 5,
        workers: int = 2,
        cpu_threads: int = 0,
        window_s: float = 10.0,
        **kwargs,
    ) -> None:
        self._model_dir = whisper_model_dir(model_dir)
        self._cpu_threads = cpu_threads
        self._beam_size = beam_size
        self._window_s = window_s
        self._workers = workers
        self._no_speech = no_speech_prob
        super().__init__(
            device=device,
            compute_type=compute_type,
            settings=WhisperSTTService.Settings(
                model=str(self._model_dir), language=Language.EN, no_speech_prob=no_speech_prob
            ),
            **kwargs,
        )

    def _load(self) -> None:
        self._model = shared_whisper_model(
            self._model_dir, self._device, self._compute_type, self._workers, self._cpu_threads
        )

    def _transcribe(self, pcm: np.ndarray, beam_size: int) -> str:
        return transcribe(self._model, pcm, beam_size, self._no_speech, window_s=self._window_s)

    async def run_stt(self, audio: bytes) -> AsyncGenerator[Frame, None]:
        await self.start_processing_metrics()
        pcm = np.frombuffer(audio, dtype=np.int16)
        text = await asyncio.to_thread(self._transcribe, pcm, self._beam_size)
        await self.stop_processing_metrics()
        if text:
            yield TranscriptionFrame(text, self._user_id, time_now_iso8601(), Language.EN)
