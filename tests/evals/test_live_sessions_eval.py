"""The live-sessions benchmark's verdicts: a level with a failed turn is not held."""

from __future__ import annotations

from evals.live_sessions import summarize


def _turn(c2a_ms: float, v2v_ms: float) -> dict:
    return {"turn": 0, "stages": {"commit_to_audio_ms": c2a_ms, "v2v_ms": v2v_ms}}


def test_a_level_within_budget_is_held():
    turns = [_turn(ms, ms + 300.0) for ms in (400.0, 600.0, 900.0)]
    summary = summarize(turns, budget_ms=2000.0)
    assert summary["within_budget"] and summary["failed"] == 0
    assert summary["commit_to_audio_ms"]["p50"] == 600.0


def test_a_slow_or_failed_turn_loses_the_level():
    slow = [_turn(ms, ms) for ms in (400.0, 5000.0)]
    assert not summarize(slow, budget_ms=2000.0)["within_budget"]
    failed = [_turn(400.0, 700.0), {"turn": 1, "failed": "timed out"}]
    summary = summarize(failed, budget_ms=2000.0)
    assert not summary["within_budget"] and summary["failed"] == 1
    assert not summarize([{"turn": 0, "failed": "timed out"}], budget_ms=2000.0)["within_budget"]
