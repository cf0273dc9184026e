"""faster-whisper ASR as a Pipecat service, with one model per process shared by sessions."""

from __future__ import annotations

import threading
from pathlib import Path

from faster_whisper import WhisperModel
from pipecat.services.whisper.stt import WhisperSTTService
from pipecat.transcriptions.language import Language

from speech.assets import whisper_model_dir

_models: dict[tuple[str, str, str], WhisperModel] = {}
_models_lock = threading.Lock()


def shared_whisper_model(model_dir: Path, device: str, compute_type: str) -> WhisperModel:
    """Load a CTranslate2 whisper once; every session's service reuses it."""
    key = (str(model_dir), device, compute_type)
    with _models_lock:
        if key not in _models:
            _models[key] = WhisperModel(str(model_dir), device=device, compute_type=compute_type)
        return _models[key]


class SharedWhisperSTTService(WhisperSTTService):
    """Pipecat's segmented Whisper service, loading from a local folder via the shared cache."""

    def __init__(
        self,
        *,
        model_dir: Path | None = None,
        device: str = "cpu",
        compute_type: str = "int8",
        no_speech_prob: float = 0.6,
        **kwargs,
    ) -> None:
        self._model_dir = whisper_model_dir(model_dir)
        super().__init__(
            device=device,
            compute_type=compute_type,
            settings=WhisperSTTService.Settings(
                model=str(self._model_dir), language=Language.EN, no_speech_prob=no_speech_prob
            ),
            **kwargs,
        )

    def _load(self) -> None:
        self._model = shared_whisper_model(self._model_dir, self._device, self._compute_type)
