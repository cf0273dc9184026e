"""Which file the latency eval writes and what it says about where models ran."""

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
