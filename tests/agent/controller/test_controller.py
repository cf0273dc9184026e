"""HLLM controller: duals, the online cost model, quality prior, sticky decisions."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from agent.config import Settings
from agent.controller.controller import ControllerParams, HLLMController
from agent.controller.cost_model import features, predict, prior_model, update
from agent.controller.decision import ComputeDecision, TurnFeatures, candidate_grid
from agent.controller.duals import dual_step
from agent.controller.quality import QualityModel
from agent.turn.assembly import controller_params

QUESTION = TurnFeatures.of("Why are leaves green?", retrieval_score=0.5, sessions=1)


def test_dual_step_is_a_projected_subgradient_step():
    assert dual_step(1.0, 1200.0, 1000.0, 1000.0, 0.5) == pytest.approx(1.1)
    assert dual_step(0.05, 200.0, 1000.0, 1000.0, 0.5) == 0.0  # projected onto λ ≥ 0
    assert dual_step(4.9, 9000.0, 1000.0, 1000.0, 0.5, ceiling=5.0) == 5.0
    with pytest.raises(ValueError):
        dual_step(1.0, 1.0, 1.0, 0.0, 0.5)


def test_turn_features_tell_questions_from_chat():
    assert TurnFeatures.of("how does a rocket move").question
    assert TurnFeatures.of("Is it green?").question
    assert not TurnFeatures.of("thanks, that helps").question
    assert TurnFeatures.of("hi", sessions=0).sessions == 1


def test_grid_holds_every_combination_but_thinking_with_critique():
    grid = candidate_grid([0, 64], [1, 2], ["embedded", "remote"], 1)
    assert len(grid) == 2 * 2 * 3  # (think, critique) in (0, 0), (0, 1), (64, 0)
    assert not any(d.thinking and d.critique_rounds for d in grid)
    assert grid[0] == ComputeDecision(0, 1, "embedded", 0)
    with pytest.raises(ValueError):
        candidate_grid([0], [1], [], 0)


def test_cost_model_learns_a_linear_latency_and_follows_a_slowdown():
    rng = np.random.default_rng(0)
    model = prior_model(100.0, 100.0, 100.0)

    def truth(d: ComputeDecision, t: TurnFeatures, scale: float = 1.0) -> float:
        return scale * (300.0 + 8.0 * d.think_tokens + 900.0 * d.critique_rounds) * t.sessions

    decisions = [ComputeDecision(think, 2, "embedded", r) for think in (0, 48, 128) for r in (0, 1)]
    for i in range(300):
        d, t = decisions[i % 6], TurnFeatures(5, True, 0.5, 1 + i % 3)
        model = update(model, features(d, t), truth(d, t) + rng.normal(0, 20))
    probe, load = ComputeDecision(128, 2, "embedded", 0), TurnFeatures(5, True, 0.5, 2)
    mean, std = predict(model, features(probe, load))
    assert mean == pytest.approx(truth(probe, load), rel=0.1)
    assert std < 0.2 * mean
    for i in range(120):  # the host gets 1.5x slower: forgetting follows it
        d, t = decisions[i % 6], TurnFeatures(5, True, 0.5, 1 + i % 3)
        model = update(model, features(d, t), truth(d, t, 1.5) + rng.normal(0, 20))
    assert predict(model, features(probe, load))[0] == pytest.approx(
        truth(probe, load, 1.5), rel=0.1
    )


def test_quality_evidence_moves_the_prior():
    quality = QualityModel(gains={"think:64": 0.5}, strength=5)
    thinking = ComputeDecision(64, 2, "embedded", 0)
    before = quality.expected_loss(thinking, QUESTION)
    for _ in range(50):  # thinking turns turn out no better than the base
        quality.observe(thinking, QUESTION, 1.0 - 2 * before)
    assert quality.multiplier("think:64") > 0.8


def _controller(**overrides) -> HLLMController:
    params = dict(
        budget_ms=1000.0, think_budgets=(0, 64), experts=(2,), max_critique_rounds=0,
        prior_base_ms=200.0, prior_per_100_think_ms=300.0, quality_gains={"think:64": 0.6},
    )  # fmt: skip
    params.update(overrides)
    return HLLMController(ControllerParams(**params))


def _run(controller: HLLMController, latency_of, turns: int) -> list[ComputeDecision]:
    chosen = []
    for _ in range(turns):
        report = controller.decide(QUESTION, "s")
        chosen.append(report.decision)
        assert controller.observe("s", latency_of(report.decision), tokens=100)
    return chosen


def test_thinks_when_the_host_is_fast_and_stops_when_it_is_slow():
    controller = _controller()
    fast = _run(controller, lambda d: 150.0 + 4.0 * d.think_tokens, 30)
    assert fast[-1].thinking
    slow = _run(controller, lambda d: 700.0 + 12.0 * d.think_tokens, 40)
    assert not slow[-1].thinking
    assert controller.duals.latency >= 0.0


def test_latency_price_rises_over_target_and_falls_under_it():
    controller = _controller()
    _run(controller, lambda d: 2000.0, 3)
    high = controller.duals.latency
    assert high > 1.0
    _run(controller, lambda d: 50_000.0, 20)  # nothing can meet the budget: λ stays bounded
    assert controller.duals.latency == controller.params.lambda_ceiling
    _run(controller, lambda d: 100.0, 10)
    assert controller.duals.latency < high


def test_one_outlier_does_not_flip_the_decision():
    controller = _controller()
    _run(controller, lambda d: 150.0 + 4.0 * d.think_tokens, 30)
    held = controller.decide(QUESTION, "s").decision
    controller.observe("s", 1400.0, tokens=100)  # one slow turn
    after = controller.decide(QUESTION, "s")
    assert after.decision == held and not after.switched


def test_observe_without_a_pending_decision_learns_nothing():
    controller = _controller()
    assert not controller.observe("nobody", 100.0)
    controller.decide(QUESTION, "s")
    assert not controller.observe("s", float("nan"))
    controller.decide(QUESTION, "s")
    controller.forget("s")
    assert not controller.observe("s", 100.0)
    assert controller.turns_observed == 0


def test_decisions_reach_the_client_and_metrics():
    from agent.session.client_events import frame_event
    from agent.session.metrics import ServiceMetrics
    from agent.turn.frames import CitationsFrame, ControllerDecisionFrame, ThinkingFrame

    report = _controller().decide(QUESTION, "s")
    message = frame_event(ControllerDecisionFrame(report=report.as_event_fields()))
    assert message["type"] == "controller" and message["decision"]["tier"] == "embedded"
    assert message["predicted_p95_ms"] >= message["predicted_ms"]
    assert frame_event(ThinkingFrame(text="hmm")) == {"v": 1, "type": "thinking", "text": "hmm"}
    cited = frame_event(CitationsFrame(citations=[{"n": 1, "source": "a.md"}]))
    assert cited["citations"][0]["source"] == "a.md"
    metrics = ServiceMetrics()
    metrics.record_decision(report)
    text = metrics.render().decode()
    assert 'eco1_controller_lambda{constraint="latency"} 1.0' in text
    assert f'eco1_controller_decisions_total{{decision="{report.decision.name}"}} 1.0' in text
    assert 'eco1_stage_latency_ms_count{stage="controller"} 1.0' in text


def test_remote_tier_keeps_its_own_quality_keys():
    from agent.controller.quality import component_keys

    assert component_keys(ComputeDecision(0, 2, "embedded", 0)) == ["base"]
    assert component_keys(ComputeDecision(48, 2, "embedded", 1)) == ["think:48", "critique:1"]
    assert component_keys(ComputeDecision(48, 2, "remote", 0)) == ["tier:remote", "remote:think:48"]


@pytest.mark.slow  # the real embedded model
async def test_a_real_turn_teaches_the_controller():
    """Retrieval, a decision, the real LLM and Piper, then latency and quality fed back."""
    from agent.config import load_settings
    from agent.turn.assembly import build_turn_compute
    from evals.controller import answer_quality, measured_gains, summarize
    from evals.harness.turn_harness import TurnHarness

    # the controller prices turns a model answers: the curriculum's own replies are off
    overrides = {"controller": {"think_budgets": [0, 16]}, "tutoring": {"grounded": False}}
    settings = load_settings(overrides=overrides)
    compute = build_turn_compute(settings)
    item = {"question": "Why can't sound travel through space?", "answer": "It needs a medium.",
            "keywords": ["medium"]}  # fmt: skip
    async with TurnHarness(settings, compute, "t") as harness:
        latency, answer = await harness.ask(item["question"])
    await asyncio.sleep(0)
    for _ in range(200):  # grounding runs off the audio path; wait for it to land
        if compute.controller.quality.counts:
            break
        await asyncio.sleep(0.05)
    assert latency > 0 and len(answer.split()) >= 3
    assert compute.controller.turns_observed == 1
    assert sum(compute.controller.quality.counts.values()) == 1
    assert compute.last_decisions["t"] in compute.controller.grid
    turn = {"latency_ms": latency, "decision": "d", **answer_quality(answer, item)}
    assert 0.0 <= turn["quality"] <= 1.0 and summarize([turn])["turns"] == 1
    gains = measured_gains({"never_think": {"quality": 0.6}, "think_48": {"quality": 0.5}})
    assert gains == {"think:48": 1.25}


@pytest.mark.parametrize("floor", [0.0, 0.05])
def test_a_fast_host_does_not_spend_seconds_on_a_negligible_gain(floor):
    """The service's measured gains (a critique round: 1 % less loss) on a host far under
    budget: without a floor on the latency price λ_ℓ reaches 0 and a critique round, whose
    draft comes before the first word, is bought for nothing."""
    settings = Settings(controller={"latency_price_floor": floor})
    controller = HLLMController(controller_params(settings, ["embedded"], [1, 2]))
    chosen = _run(controller, lambda d: 200.0 + 20.0 * d.think_tokens + 900 * d.critique_rounds, 40)
    assert controller.duals.latency == 0.0  # the budget is never in danger
    deliberated = [d for d in chosen if d.deliberates]
    if floor:
        assert deliberated == []
    else:
        assert deliberated  # what the floor is for
