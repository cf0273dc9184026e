"""Injected faults in a real server: the learner hears a fallback, the server goes on."""

from __future__ import annotations

import json

import httpx
import pytest

from evals.harness.server_process import ServerProcess
from evals.harness.speech_samples import synthesize
from evals.reliability import ask, metric_total

pytestmark = pytest.mark.slow


async def test_a_failing_llm_is_covered_by_a_spoken_fallback():
    # the model must answer for its failure to show: the curriculum's own replies are off
    env = {"ECO1_SERVER__FAULTS": json.dumps({"llm_error": 1.0}), "ECO1_TUTORING__GROUNDED": "0"}
    with ServerProcess(env=env) as server:
        result = await ask(server, synthesize("What is photosynthesis?"))
        assert result["spoke"], "the learner heard nothing"
        fallback = [e for e in result["events"] if e.get("type") == "fallback"]
        assert fallback and fallback[0]["stage"] == "llm" and "injected" in fallback[0]["reason"]
        tutor = [e["text"] for e in result["events"]
                 if e.get("type") == "transcript" and e.get("role") == "tutor"]  # fmt: skip
        assert any("lost my train of thought" in t for t in tutor), tutor  # its first clause
        assert metric_total(server, "eco1_faults_injected")["llm_error"] >= 1
        assert metric_total(server, "eco1_fallbacks")["llm"] >= 1
        assert httpx.get(f"{server.base_url}/healthz").status_code == 200


def test_unknown_faults_are_refused_at_start_up():
    from agent.config import ConfigError, load_settings

    with pytest.raises(ConfigError, match="unknown fault"):
        load_settings(overrides={"server": {"faults": {"disk_full": 0.5}}})
    with pytest.raises(ConfigError, match=r"\[0, 1\]"):
        load_settings(overrides={"server": {"faults": {"llm_error": 2.0}}})


async def test_soak_records_memory_after_every_session():
    from evals.reliability import soak_test

    with ServerProcess(env={"MALLOC_ARENA_MAX": "2"}) as server:
        result = await soak_test(server, synthesize("What is photosynthesis?"), sessions=3)
        assert httpx.get(f"{server.base_url}/healthz").json()["sessions"] == 0
    curve = result["rss_mb_curve"]
    assert len(curve) == 4 and all(mb > 100 for mb in curve)
    assert result["rss_growth_mb"] == round(curve[-1] - curve[2], 1)
