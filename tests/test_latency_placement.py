"""Which file the latency eval writes, what it says about where models ran, and how it
summarizes the turns of whole sessions."""

from __future__ import annotations

import pytest

from agent.config import load_settings
from evals.latency import gpu_name, placement


def test_cpu_settings_name_no_gpu() -> None:
    settings = load_settings(profile="nano")
    assert gpu_name(settings) is None
    assert placement(settings, None) == {"asr": "cpu", "llm": "cpu", "tts": "cpu"}


def test_remote_llm_is_not_a_local_gpu() -> None:
    settings = load_settings(
        profile="eco", overrides={"llm": {"backend": "openai", "base_url": "http://x:1/v1"}}
    )
    assert gpu_name(settings) is None


def test_offloaded_layers_without_cuda_name_no_gpu(monkeypatch: pytest.MonkeyPatch) -> None:
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert gpu_name(load_settings(profile="eco")) is None


def test_gpu_placement_names_each_stage(monkeypatch: pytest.MonkeyPatch) -> None:
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda index=0: "Test GPU")
    settings = load_settings(profile="eco", overrides={"tts": {"use_cuda": False}})
    gpu = gpu_name(settings)
    assert gpu == "Test GPU"
    assert placement(settings, gpu) == {"asr": "cuda", "llm": "cuda", "tts": "cpu"}


def test_later_turns_leave_out_each_sessions_first_and_count_failures() -> None:
    from agent.latency import STAGES
    from evals.latency import later_turns, ratios

    def turn(index: int, c2a_ms: float) -> dict:
        stages = dict.fromkeys(STAGES, 100.0) | {"commit_to_audio_ms": c2a_ms}
        return {"turn": index, "stages": stages, "understood": True}

    records = [turn(0, 9000.0), turn(1, 400.0), turn(2, 600.0), {"turn": 3, "failed": "late"}]
    later = later_turns(records)
    assert later["turns"] == 2 and later["failed"] == 1 and later["understood"] == 2
    assert later["stages"]["commit_to_audio_ms"]["p50"] == 500.0  # the first turn is not in it
    stock = later_turns([turn(0, 1.0), turn(1, 1000.0)])
    assert ratios(later, stock)["commit_to_audio_ms"] == 0.5
