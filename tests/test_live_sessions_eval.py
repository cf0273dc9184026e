"""The live-sessions benchmark's verdicts: a level with a failed turn is not held."""

from __future__ import annotations

from evals.live_sessions import summarize


def test_a_level_within_budget_is_held():
    turns = [{"commit_to_audio_ms": ms, "v2v_ms": ms + 300.0} for ms in (400.0, 600.0, 900.0)]
    summary = summarize(turns, budget_ms=2000.0)
    assert summary["within_budget"] and summary["failed"] == 0
    assert summary["commit_to_audio_ms"]["p50"] == 600.0


def test_a_slow_or_failed_turn_loses_the_level():
    slow = [{"commit_to_audio_ms": ms, "v2v_ms": ms} for ms in (400.0, 5000.0)]
    assert not summarize(slow, budget_ms=2000.0)["within_budget"]
    failed = [{"commit_to_audio_ms": 400.0, "v2v_ms": 700.0}, {"failed": 1.0}]
    summary = summarize(failed, budget_ms=2000.0)
    assert not summary["within_budget"] and summary["failed"] == 1
    assert not summarize([{"failed": 1.0}], budget_ms=2000.0)["within_budget"]
