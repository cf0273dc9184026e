"""The EFE tutoring planner: the model file, pure inference, decisions, learning, pymdp."""

import numpy as np
import pytest

from planner.agent import TutorPlanner
from planner.inference import (
    all_policies,
    infer_states,
    policy_posterior,
    pruned_policies,
    states_info_gain,
)
from planner.model import load_tutoring_model


@pytest.fixture(scope="module")
def model():
    return load_tutoring_model()


def test_model_arrays_are_distributions(model):
    for array in model.A + model.B:
        assert np.allclose(array.sum(axis=0), 1.0) and (array >= 0).all()
    assert [a.shape for a in model.A] == [(3, 3, 2, 2), (2, 3, 2, 2), (3, 3, 2, 2), (2, 3, 2, 2)]
    assert [b.shape for b in model.B] == [(3, 3, 7), (2, 2, 7), (2, 2, 7)]
    assert set(model.gestures) == set(model.actions)


def test_bad_model_file_is_refused(tmp_path):
    text = (load_tutoring_model.__globals__["DEFAULT_MODEL"]).read_text()
    broken = tmp_path / "broken.toml"
    broken.write_text(text.replace("p_correct = [0.1, 0.5, 0.9]", "p_correct = [0.1, 0.5, 1.9]"))
    with pytest.raises(ValueError, match="probability distributions"):
        load_tutoring_model(broken)


def test_correct_answers_raise_belief_in_mastery(model):
    correct = model.observation(answer="correct", question="no", silence="short", face="present")
    wrong = model.observation(answer="wrong", question="yes", silence="medium", face="present")
    after_correct = infer_states(model.A, correct, model.D)
    after_wrong = infer_states(model.A, wrong, model.D)
    assert after_correct[0][2] > model.D[0][2] > after_wrong[0][2]
    assert after_wrong[2][1] > model.D[2][1]  # a question suggests confusion


def test_information_gain_is_zero_when_beliefs_are_certain(model):
    certain = [np.eye(3)[1], np.eye(2)[0], np.eye(2)[0]]
    assert abs(states_info_gain(model.A, certain)) < 1e-4  # pymdp's epsilons leave ~4e-6
    assert states_info_gain(model.A, model.D) > 0.05


def test_planner_reacts_to_what_it_sees(model):
    drifting = model.observation(answer="none", question="no", silence="long", face="absent")
    planner = TutorPlanner(model)
    planner.observe(drifting)
    assert planner.decide().action == "encourage"
    confused = model.observation(answer="wrong", question="yes", silence="medium", face="present")
    planner = TutorPlanner(model)
    planner.observe(confused)
    decision = planner.decide()
    assert decision.action in ("example", "explain", "hint")
    assert decision.gesture == model.gestures[decision.action] and decision.prompt_hint
    assert abs(sum(decision.action_probabilities.values()) - 1) < 1e-3


def test_pruning_keeps_the_best_first_actions(model):
    policies = pruned_policies(model.D, model.A, model.B, model.C, 7, 2, keep_first=3)
    assert len(policies) == 3 * 7
    assert len({int(p[0, 0]) for p in policies}) == 3


def test_dirichlet_learning_moves_the_answer_model(model):
    planner = TutorPlanner(model, concentration=5.0)
    before = planner.A[0].copy()
    correct = model.observation(answer="correct", question="no", silence="short", face="present")
    for _ in range(5):
        planner.observe(correct)
        planner.decide()
    assert not np.allclose(planner.A[0], before)
    assert np.allclose(planner.A[0].sum(axis=0), 1.0)


def test_same_policy_posterior_as_pymdp(model):
    from pymdp.legacy import control as pymdp
    from pymdp.legacy import inference as pymdp_inference
    from pymdp.legacy import utils

    A, B, C, D = (utils.obj_array_from_list(x) for x in (model.A, model.B, model.C, model.D))
    policies = all_policies(len(model.actions), 2, 3)
    habits = np.array([model.habits[int(p[0, 0])] for p in policies])
    habits /= habits.sum()
    for obs in ([0, 0, 0, 0], [1, 1, 1, 0], [2, 0, 2, 1]):
        theirs_qs = pymdp_inference.update_posterior_states(A, obs, prior=D)
        ours_qs = infer_states(model.A, obs, model.D)
        assert max(np.abs(o - t).max() for o, t in zip(ours_qs, theirs_qs, strict=True)) < 2e-3
        qs = [np.asarray(q) for q in theirs_qs]
        theirs_q_pi, theirs_G = pymdp.update_posterior_policies(
            utils.obj_array_from_list(qs), A, B, C, policies, E=habits, gamma=model.gamma
        )
        ours_q_pi, ours_G = policy_posterior(
            qs, model.A, model.B, model.C, policies, model.gamma, habits
        )
        assert np.abs(ours_G - theirs_G).max() < 1e-9
        assert np.abs(ours_q_pi - theirs_q_pi).max() < 1e-9


def test_fast_scorer_matches_the_reference(model):
    from planner.inference import PolicyScorer, negative_efe

    qs = infer_states(model.A, [1, 1, 1, 0], model.D)
    scorer = PolicyScorer(model.A, model.B, model.C)
    for policy in all_policies(len(model.actions), 2, 3)[::5]:
        actions = tuple(int(u) for u in policy[:, 0])
        for info_gain in (True, False):
            reference = negative_efe(qs, model.A, model.B, model.C, policy, info_gain)
            assert abs(scorer.score(qs, actions, info_gain) - reference) < 1e-9


def test_dialogue_observations():
    from planner.observations import dialogue_observation

    asked = dialogue_observation("Why is the sky blue?", None, 1.0)
    assert asked == {"answer": "none", "question": "yes", "silence": "short", "face": "present"}
    hedged = dialogue_observation("I don't know, maybe light", "check", 7.0)
    assert hedged["answer"] == "wrong" and hedged["silence"] == "long"
    attempt = dialogue_observation("Plants use sunlight to make sugar", "check", 3.0)
    assert attempt["answer"] == "correct" and attempt["silence"] == "medium"


async def test_planner_processor_steers_the_turn():
    from pipecat.frames.frames import LLMContextFrame
    from pipecat.processors.aggregators.llm_context import LLMContext
    from pipecat.tests.utils import run_test

    from planner.frames import PlanActionFrame
    from planner.processor import TutorPlannerProcessor

    context = LLMContext(messages=[{"role": "user", "content": "I don't get it, why is that?"}])
    down, _ = await run_test(
        TutorPlannerProcessor(),
        frames_to_send=[LLMContextFrame(context)],
        expected_down_frames=None,
    )
    plan = next(f for f in down if isinstance(f, PlanActionFrame))
    assert down.index(plan) < next(i for i, f in enumerate(down) if isinstance(f, LLMContextFrame))
    assert plan.action in ("explain", "example", "hint") and plan.prompt_hint
    assert plan.beliefs["confusion"]["confused"] > 0.3


async def test_planner_hears_from_perception_whether_a_face_is_there():
    from pipecat.frames.frames import LLMContextFrame
    from pipecat.processors.aggregators.llm_context import LLMContext
    from pipecat.tests.utils import run_test

    from perception.frames import LearnerObservationFrame
    from planner.processor import TutorPlannerProcessor

    context = LLMContext(messages=[{"role": "user", "content": "ok"}])
    seen, gone = TutorPlannerProcessor(), TutorPlannerProcessor()
    await run_test(seen, frames_to_send=[LLMContextFrame(context)])
    await run_test(
        gone,
        frames_to_send=[LearnerObservationFrame(face_present=False), LLMContextFrame(context)],
    )
    assert seen.last_decision["observation"]["face"] == "present"
    assert gone.last_decision["observation"]["face"] == "absent"
    assert gone.beliefs()["engagement"]["drifting"] > seen.beliefs()["engagement"]["drifting"]


@pytest.mark.parametrize("sample", [False, True])
def test_preview_decides_as_the_turn_will_and_changes_nothing(model, sample):
    """The hint an answer begun ahead is written with is the hint the turn will get."""
    turns = [
        model.observation(answer="none", question="yes", silence="short", face="present"),
        model.observation(answer="wrong", question="yes", silence="medium", face="present"),
        model.observation(answer="correct", question="no", silence="short", face="present"),
    ]
    planner = TutorPlanner(model, sample=sample, seed=3)
    for obs in turns:
        qs, pA = [q.copy() for q in planner.qs], [p.copy() for p in planner.pA]
        previewed = planner.preview(obs)
        assert all(np.array_equal(a, b) for a, b in zip(qs, planner.qs, strict=True))
        assert all(np.array_equal(a, b) for a, b in zip(pA, planner.pA, strict=True))
        planner.observe(obs)
        decided = planner.decide()
        assert (previewed.action, previewed.prompt_hint) == (decided.action, decided.prompt_hint)
