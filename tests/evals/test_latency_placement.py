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
    from agent.session.latency import STAGES
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


def test_first_turns_are_written_before_the_sessions_and_marked_so(tmp_path, monkeypatch):
    """A leased GPU's time ran out during the sessions and the whole run was lost: the first
    turns now land in the file first, marked sessions_done false until the sessions end."""
    import json

    import evals.latency as latency
    from agent.session.latency import STAGES

    monkeypatch.setattr(latency, "questions_with_notes", lambda settings: [])

    def turn(c2a_ms: float, index: int = 0) -> dict:
        stages = dict.fromkeys(STAGES, 50.0) | {"commit_to_audio_ms": c2a_ms}
        return {"heard": "q", "first_clause": "a", "turn": index, "stages": stages,
                "understood": True}  # fmt: skip

    thought = turn(300.0) | {"decision": {"think_tokens": 48, "critique_rounds": 0}}
    runs = {"eco1": [turn(100.0), thought], "baseline": [turn(400.0), turn(400.0)]}
    result = latency.first_turns_result(load_settings(), None, runs, 12.34)
    path = tmp_path / "latency.json"
    latency.write_result(result, path)
    written = json.loads(path.read_text())
    assert written["sessions_done"] is False and "later_turns" not in written
    assert written["stages"]["commit_to_audio_ms"]["p50"] == 200.0
    assert written["ratio_p50"]["commit_to_audio_ms"] == 0.5
    assert written["deliberated"] == 1 and written["baseline"]["deliberated"] == 0
    assert written["per_turn"]["eco1"][1]["decision"]["think_tokens"] == 48
    assert path.with_suffix(".png").exists()

    sessions = {design: [turn(900.0, 0), turn(250.0, 1)] for design in ("eco1", "baseline")}
    latency.add_sessions(result, sessions, sessions=1, questions=2, wall_s=60.0)
    latency.write_result(result, path)
    written = json.loads(path.read_text())
    assert written["sessions_done"] is True and written["wall_s"] == 60.0
    assert written["later_turns"]["eco1"]["stages"]["commit_to_audio_ms"]["p50"] == 250.0
    assert written["per_turn"]["eco1"][0]["first_clause"] == "a"
