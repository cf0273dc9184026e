"""The EFE tutoring planner: the model file, pure inference, decisions, learning, pymdp."""

import numpy as np
import pytest

from planner.inference import (
    all_policies,
    infer_states,
    policy_posterior,
    pruned_policies,
    states_info_gain,
)
from planner.model import load_tutoring_model
from planner.tutor_planner import TutorPlanner


@pytest.fixture(scope="module")
def model():
    return load_tutoring_model()


def test_model_arrays_are_distributions(model):
    for array in model.A + model.B:
        assert np.allclose(array.sum(axis=0), 1.0) and (array >= 0).all()
    states = (2, 2, 2, 2)  # knowledge, engagement, confusion, prompt
    assert [a.shape for a in model.A] == [(5, *states), (2, *states), (3, *states), (2, *states)]
    assert [b.shape for b in model.B] == [(2, 2, 7)] * 4
    assert set(model.gestures) == set(model.actions)


def test_bad_model_file_is_refused(tmp_path):
    text = (load_tutoring_model.__globals__["DEFAULT_MODEL"]).read_text()
    broken = tmp_path / "broken.toml"
    broken.write_text(text.replace("p_correct = [0.2, 0.85]", "p_correct = [0.2, 1.85]"))
    with pytest.raises(ValueError, match="probability distributions"):
        load_tutoring_model(broken)
    broken.write_text(text.replace("knowledge = [0.0, 3.0]", "knowing = [0.0, 3.0]"))
    with pytest.raises(ValueError, match="unknown factors"):
        load_tutoring_model(broken)


def asked(model):
    """The prior after the tutor asked a check question."""
    prior = [d.copy() for d in model.D]
    prior[3] = np.array([0.0, 1.0])
    return prior


def test_correct_answers_raise_belief_in_mastery(model):
    correct = model.observation(answer="correct", question="no", silence="short", face="present")
    wrong = model.observation(answer="wrong", question="yes", silence="medium", face="present")
    after_correct = infer_states(model.A, correct, asked(model))
    after_wrong = infer_states(model.A, wrong, asked(model))
    assert after_correct[0][1] > model.D[0][1] > after_wrong[0][1]
    assert after_wrong[2][1] > model.D[2][1]  # a question suggests confusion
    unasked = model.observation(answer="unasked", question="no", silence="short", face="present")
    told = infer_states(model.A, unasked, model.D)
    assert abs(told[0][1] - model.D[0][1]) < 1e-6  # nothing asked: nothing learned of knowledge


def test_information_gain_is_zero_when_beliefs_are_certain(model):
    certain = [np.eye(2)[1], np.eye(2)[0], np.eye(2)[0], np.eye(2)[1]]
    assert abs(states_info_gain(model.A, certain)) < 1e-4  # pymdp's epsilons leave ~4e-6
    assert states_info_gain(model.A, asked(model)) > 0.05


def with_knowledge(p: float) -> list[np.ndarray]:
    """Beliefs about an engaged, clear learner who knows the concept with probability p."""
    return [np.array([1 - p, p]), np.array([0.97, 0.03]), np.array([0.97, 0.03]),
            np.array([1.0, 0.0])]  # fmt: skip


def test_a_check_question_confirms_mastery_rather_than_collecting_answers(model):
    """Unsure whether the learner knows it, the tutor teaches; close to mastery it asks, and
    information gain makes it ask sooner than a greedy planner would."""
    for info_gain in (True, False):
        unsure = TutorPlanner(model, info_gain=info_gain)
        unsure.qs = with_knowledge(0.5)
        assert unsure.decide().action in ("explain", "example")
    planner, greedy = TutorPlanner(model), TutorPlanner(model, info_gain=False)
    planner.qs, greedy.qs = with_knowledge(0.9), with_knowledge(0.9)
    efe = planner.decide()
    assert efe.action == "check"
    assert efe.action_probabilities["check"] > greedy.decide().action_probabilities["check"]


def test_the_tutor_prefers_a_learner_who_knows(model):
    """Without its preference for knowledge nothing but a later right answer rewards teaching,
    and the planner spreads the turn over encouragement and hints instead."""
    import dataclasses

    def teaching_share(planner: TutorPlanner) -> float:
        planner.qs = with_knowledge(0.3)
        chances = planner.decide().action_probabilities
        return chances["explain"] + chances["example"]

    wanting = teaching_share(TutorPlanner(model))
    assert wanting > 0.9
    assert teaching_share(TutorPlanner(dataclasses.replace(model, state_prefs=None))) < 0.6


def test_a_drifting_learner_learns_little_so_the_tutor_wins_them_back(model):
    """Knowledge waits on engagement (the gate): told an example while away, little sticks."""
    from planner.inference import step

    example = model.actions.index("example")
    engaged = step(with_knowledge(0.2), model.B, example, model.gate)[0][1]
    away = with_knowledge(0.2)
    away[1] = np.array([0.05, 0.95])
    assert step(away, model.B, example, model.gate)[0][1] < 0.2 + (engaged - 0.2) / 3


def test_planner_reacts_to_what_it_sees(model):
    drifting = model.observation(answer="none", question="no", silence="long", face="absent")
    planner = TutorPlanner(model)
    planner.acted(model.actions.index("check"))
    planner.observe(drifting)
    assert planner.decide().action == "encourage"
    confused = model.observation(answer="wrong", question="yes", silence="medium", face="present")
    planner = TutorPlanner(model)
    planner.acted(model.actions.index("check"))
    planner.observe(confused)
    decision = planner.decide()
    assert decision.action != "check"  # a confused learner is not quizzed again at once
    assert decision.gesture == model.gestures[decision.action]
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
        planner.acted(model.actions.index("check"))
        planner.observe(correct)
    assert not np.allclose(planner.A[0], before)
    assert np.allclose(planner.A[0].sum(axis=0), 1.0)


def test_same_policy_posterior_as_pymdp(model):
    from pymdp.legacy import control as pymdp
    from pymdp.legacy import inference as pymdp_inference
    from pymdp.legacy import utils

    A, B, C, D = (utils.obj_array_from_list(x) for x in (model.A, model.B, model.C, model.D))
    policies = all_policies(len(model.actions), 2, 4)
    habits = np.array([model.habits[int(p[0, 0])] for p in policies])
    habits /= habits.sum()
    for obs in ([4, 0, 0, 0], [0, 1, 1, 0], [2, 0, 2, 1], [3, 0, 2, 1]):
        theirs_qs = pymdp_inference.update_posterior_states(
            A, obs, prior=utils.obj_array_from_list(asked(model))
        )
        ours_qs = infer_states(model.A, obs, asked(model))
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

    qs = infer_states(model.A, [1, 1, 1, 0], asked(model))
    for salient, prefs in ((None, None), (0, None), (0, model.state_prefs)):
        scorer = PolicyScorer(model.A, model.B, model.C, salient, prefs)
        for policy in all_policies(len(model.actions), 2, 4)[::5]:
            actions = tuple(int(u) for u in policy[:, 0])
            for info_gain in (True, False):
                reference = negative_efe(
                    qs, model.A, model.B, model.C, policy, info_gain, salient, prefs
                )
                assert abs(scorer.score(qs, actions, info_gain) - reference) < 1e-9


def test_information_about_knowledge_comes_from_checks(model):
    from planner.inference import factor_info_gain, joint_outcomes

    outcomes = joint_outcomes(model.A)
    unsure = [np.array([0.5, 0.5]), *model.D[1:3], np.array([0.0, 1.0])]  # a check pending
    told = [*unsure[:3], np.array([1.0, 0.0])]
    about_knowledge = factor_info_gain(outcomes, unsure, 0)
    assert about_knowledge > 0.1  # the graded answer tells knowledge apart
    assert factor_info_gain(outcomes, told, 0) < 1e-9  # nothing asked: nothing learned of it
    assert about_knowledge < states_info_gain(model.A, unsure)  # a part of the whole
    certain = [np.array([0.0, 1.0]), *unsure[1:]]
    assert abs(factor_info_gain(outcomes, certain, 0)) < 1e-6


def test_dialogue_observations():
    from planner.observations import LearnerSignals, dialogue_observation

    asked = dialogue_observation("Why is the sky blue?", None, LearnerSignals(1.0))
    assert asked == {"answer": "unasked", "question": "yes", "silence": "short",
                     "face": "present"}  # fmt: skip
    hedged = dialogue_observation("I don't know, maybe light", "check", LearnerSignals(7.0))
    assert hedged["answer"] == "wrong" and hedged["silence"] == "long"
    attempt = dialogue_observation("Plants use sunlight", "check", LearnerSignals(3.0, False))
    assert attempt["answer"] == "correct" and attempt["silence"] == "medium"
    assert attempt["face"] == "absent"


async def test_planner_processor_gathers_the_learners_signals():
    from pipecat.frames.frames import BotStoppedSpeakingFrame, UserStartedSpeakingFrame
    from pipecat.tests.utils import run_test

    from perception.frames import LearnerObservationFrame
    from planner.frames import LikelyActionFrame
    from planner.processor import TutorPlannerProcessor
    from speech.frames import ProvisionalTranscriptFrame

    now = [100.0]
    processor = TutorPlannerProcessor(clock=lambda: now[0])
    provisional = ProvisionalTranscriptFrame(text="why is the sky blue")
    down, _ = await run_test(
        processor,
        frames_to_send=[
            LearnerObservationFrame(face_present=False), BotStoppedSpeakingFrame(),
        ],
        expected_down_frames=None,
    )  # fmt: skip
    now[0] += 7.0
    more, _ = await run_test(
        processor, frames_to_send=[UserStartedSpeakingFrame(), provisional],
        expected_down_frames=None,
    )  # fmt: skip
    assert processor.signals.face_present is False and processor.signals.silence == "long"
    assert any(isinstance(f, LikelyActionFrame) and f.action for f in down + more)
    assert provisional.likely_action
    assert processor.lesson.last is None  # the turn decides, not the processor


def test_what_perception_sees_moves_engagement(model):
    from planner.lesson import LessonPlanner

    seen, gone = LessonPlanner(model), LessonPlanner(model)
    seen.observe({"answer": "unasked", "question": "no", "silence": "short", "face": "present"})
    gone.observe({"answer": "unasked", "question": "no", "silence": "long", "face": "absent"})
    assert gone.beliefs()["engagement"]["drifting"] > seen.beliefs()["engagement"]["drifting"]


def test_the_lesson_keeps_a_belief_per_concept(model):
    from planner.lesson import LessonPlanner

    lesson = LessonPlanner(model)
    lesson.focus("force", prior=0.2)
    for _ in range(3):
        lesson.choose("check")
        lesson.observe({"answer": "correct", "question": "no", "silence": "short",
                        "face": "present"})  # fmt: skip
    known = lesson.mastery("force")
    assert known > 0.8
    lesson.focus("gravity", prior=0.4, readiness=0.5)
    assert lesson.mastery("gravity") == pytest.approx(0.4)
    lesson.decide()
    lesson.observe({"answer": "unasked", "question": "yes", "silence": "short",
                    "face": "present"})  # fmt: skip
    assert lesson.mastery("force") >= known - 0.02  # kept while on another concept
    assert lesson.mastery("gravity") > 0.4  # the action on it was a chance to learn
    slow = lesson.concepts["gravity"].transitions
    assert (slow[1, 0] / slow[:, 0].sum(axis=0) < model.learn + 1e-9).all()  # not ready yet


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
        assert previewed.action == decided.action
