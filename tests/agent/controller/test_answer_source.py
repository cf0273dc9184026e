"""The controller's choice of what answers: the curriculum's words, a model writing from the
facets, or the remote tier, priced by expected loss and latency; and the turn that follows it."""

from __future__ import annotations

import asyncio

import pytest

from agent.controller.controller import ControllerParams, HLLMController
from agent.controller.decision import FACETS, TurnFeatures
from agent.controller.quality import FACET_ANSWER_LOSS, HONEST_HEDGE_LOSS
from agent.turn.compute import TurnCompute
from agent.tutoring.state import TutorState


def _controller(tiers=("embedded",), base_ms=300.0, **overrides) -> HLLMController:
    params = dict(
        budget_ms=2000.0, think_budgets=(0,), experts=(2,), max_critique_rounds=0,
        tiers=tiers, prior_base_ms=base_ms, quality_gains={"tier:remote": 0.2},
    )  # fmt: skip
    params.update(overrides)
    return HLLMController(ControllerParams(**params))


def _features(spoken, embedded=True, retrieval=1.0) -> TurnFeatures:
    return TurnFeatures.of(
        "What would happen if there was no friction?", retrieval,
        spoken_loss=spoken, embedded_may_answer=embedded, checked=embedded and retrieval > 0,
    )  # fmt: skip


def test_a_facet_that_answers_is_spoken_without_a_model():
    report = _controller(tiers=("embedded", "remote")).decide(_features(FACET_ANSWER_LOSS))
    assert report.decision.tier == FACETS and report.source == FACETS
    assert report.predicted_upper_ms == 0.0
    assert set(report.priced) == {FACETS, "embedded", "remote"}
    assert report.priced[FACETS] < min(report.priced["embedded"], report.priced["remote"])


def test_a_model_writes_from_the_facets_while_it_is_quick_enough():
    quick = _controller(base_ms=300.0).decide(_features(HONEST_HEDGE_LOSS))
    assert quick.decision.tier == "embedded" and quick.source == "facets+llm"
    # The same turn on a host whose model is predicted past the budget: the hedge wins.
    slow = _controller(base_ms=2500.0).decide(_features(HONEST_HEDGE_LOSS))
    assert slow.decision.tier == FACETS
    assert slow.priced["embedded"] > slow.priced[FACETS]


def test_outside_the_curriculum_the_remote_answers_or_the_tutor_says_so():
    uncovered = _features(HONEST_HEDGE_LOSS, embedded=False, retrieval=0.0)
    routed = _controller(tiers=("embedded", "remote")).decide(uncovered)
    assert routed.decision.tier == "remote" and routed.source == "remote"
    assert "embedded" not in routed.priced  # never the small model's invention
    slow = _controller(tiers=("embedded", "remote"), base_ms=2500.0).decide(uncovered)
    assert slow.decision.tier == FACETS
    with pytest.raises(ValueError, match="no decision"):
        _controller().decide(_features(None, embedded=False))


def test_quick_spoken_turns_lower_the_latency_price_but_teach_no_cost_model():
    controller = _controller(base_ms=800.0)  # a loaded host: the what-if is hedged at first
    assert controller.decide(_features(HONEST_HEDGE_LOSS), "s").source == FACETS
    before = controller.models["embedded"]
    for _ in range(3):
        controller.decide(_features(FACET_ANSWER_LOSS), "s")
        assert controller.observe_latency("s", 150.0)
    assert controller.models["embedded"] is before
    assert controller.duals.latency < 0.5
    # the price fell, so the model now writes the what-if the curriculum cannot answer
    assert controller.decide(_features(HONEST_HEDGE_LOSS), "s").source == "facets+llm"


@pytest.fixture
def compute(turn):
    def make(tiers=("embedded",), base_ms=300.0) -> TurnCompute:
        backends = {tier: f"{tier} backend" for tier in tiers}
        return TurnCompute(
            backends,  # type: ignore[arg-type]  # prepare() only chooses among them
            controller=_controller(tiers=tiers, base_ms=base_ms),
            index=turn.matcher.index,
            teaching=turn,
        )

    return make


def _plan(compute: TurnCompute, state: TutorState, question: str):
    async def both():
        reply = await compute.teach(state, question)
        return await compute.prepare("s", question, reply)

    return asyncio.run(both())


def test_the_turn_speaks_what_the_controller_chose(compute):
    quick, state = compute(), TutorState()
    covered = _plan(quick, state, "What is inertia?")
    assert covered.grounded and covered.source == FACETS and covered.citations()
    what_if = _plan(quick, state, "What would happen if there was no friction?")
    assert not what_if.grounded and what_if.checked and what_if.source == "facets+llm"
    assert what_if.reply.mode == "llm" and what_if.backend == "embedded backend"
    hedged = _plan(compute(base_ms=2500.0), state, "What would happen if there was no friction?")
    assert hedged.grounded and hedged.reply.mode == "hedge"
    assert hedged.reply.text.startswith("I'm not sure")


def test_an_uncovered_question_goes_remote_only_when_it_pays(compute):
    question = "Who won the World Cup in 2018?"
    routed = _plan(compute(("embedded", "remote")), TutorState(), question)
    assert routed.reply.mode == "remote" and routed.backend == "remote backend"
    honest = _plan(compute(("embedded", "remote"), base_ms=2500.0), TutorState(), question)
    assert honest.reply.mode == "abstain" and honest.grounded and not honest.hits
    arithmetic = _plan(compute(), TutorState(), "what is 12 times 7")
    assert arithmetic.source == "exact" and "84" in arithmetic.reply.text
