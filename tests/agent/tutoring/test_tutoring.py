"""The tutoring turn: curriculum, exact arithmetic, grounded answers, follow-ups, grading."""

from __future__ import annotations

from dataclasses import replace
from fractions import Fraction

import pytest

from agent.tutoring.arithmetic import compute
from agent.tutoring.curriculum import CurriculumError, load_curriculum
from agent.tutoring.grading import Grade, grade
from agent.tutoring.state import TutorState


def test_the_shipped_curriculum_is_complete(curriculum):
    assert len(curriculum) >= 80
    subjects = {c.subject for c in curriculum.concepts.values()}
    assert {"biology", "physics", "chemistry", "earth and space"} <= subjects
    for concept in curriculum.concepts.values():
        assert concept.definition and concept.explanation and concept.examples
        assert concept.misconception and concept.correction and concept.summary
        assert len(concept.checks) >= 2 and all(c.accepted for c in concept.checks)
    ordered = [c.id for c in curriculum.ordered()]
    for concept in curriculum.concepts.values():  # prerequisites come first
        assert all(ordered.index(p) < ordered.index(concept.id) for p in concept.prerequisites)


GOOD = """subject = "physics"
[[concept]]
id = "thing"
name = "thing"
definition = "A thing is something that is there."
explanation = "Things exist because they are there, as anyone can see."
examples = ["A chair is a thing."]
misconception = "People think nothing is a thing."
correction = "Nothing is not a thing."
summary = "Things are there."
[[concept.checks]]
question = "Is a chair a thing?"
accepted = ["yes"]
[[concept.checks]]
question = "Is nothing a thing?"
accepted = ["no"]
"""


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda t: t.replace('definition = "A thing is something that is there."\n', ""),
         "concept[0] (thing).definition: Field required"),
        (lambda t: t.replace('summary = "Things are there."', 'summary = "Things are there"'),
         "concept[0] (thing).summary: Value error, must end with a full stop"),
        (lambda t: t.replace('subject = "physics"', 'subject = "astrology"'), "subject"),
        (lambda t: t.replace('name = "thing"', 'name = "thing"\nprerequisites = ["nope"]'),
         "unknown concept 'nope'"),
        (lambda t: t.replace('id = "thing"', 'id = "thing"\ncolour = "red"'),
         "concept[0] (thing).colour: Extra inputs are not permitted"),
        (lambda t: t + "[[[", "not valid TOML"),
    ],
)  # fmt: skip
def test_a_malformed_curriculum_file_names_the_file_and_field(tmp_path, change, message):
    (tmp_path / "physics.toml").write_text(change(GOOD))
    with pytest.raises(CurriculumError) as refused:
        load_curriculum(tmp_path)
    assert "physics.toml" in str(refused.value) and message in str(refused.value)


def test_a_good_file_loads_and_a_cycle_is_refused(tmp_path):
    (tmp_path / "physics.toml").write_text(GOOD)
    assert list(load_curriculum(tmp_path).concepts) == ["thing"]
    cyclic = GOOD.replace('name = "thing"', 'name = "thing"\nprerequisites = ["thing"]')
    (tmp_path / "physics.toml").write_text(cyclic)
    with pytest.raises(CurriculumError, match="lead back to itself"):
        load_curriculum(tmp_path)


@pytest.mark.parametrize(
    ("question", "value"),
    [
        ("What is 12 times 7?", Fraction(84)),
        ("what's twelve times seven", Fraction(84)),
        ("what is 3/4 of 20", Fraction(15)),
        ("15 percent of 80", Fraction(12)),
        ("what is one half plus one third", Fraction(5, 6)),
        ("what is 2 + 3 * 4", Fraction(14)),
        ("what is (2 + 3) * 4", Fraction(20)),
        ("subtract 5 from 12", Fraction(7)),
        ("what is 7 minus 10", Fraction(-3)),
        ("what is 2 to the power of 10", Fraction(1024)),
        ("can you tell me what 9 x 8 is", Fraction(72)),
        ("what is 0.1 plus 0.2", Fraction(3, 10)),
    ],
)
def test_arithmetic_is_exact(question, value):
    computed = compute(question)
    assert computed is not None and computed.value == value


def test_arithmetic_says_fractions_and_refuses_what_has_no_answer():
    assert compute("what is one half plus one third").sentence.endswith("is five sixths.")
    assert "cannot divide by zero" in compute("what is 10 divided by 0").sentence
    assert "about 1.414" in compute("what is the square root of 2").sentence
    assert compute("what is 3/4 as a percentage").sentence == "Three quarters is 75 percent."
    assert compute("one eighth as a decimal").sentence.endswith("is 0.125.")
    huge = compute("what is 99999999 to the power of 12")
    assert huge is not None and huge.value is None and "too large" in huge.sentence
    for not_sums in ("what is a fraction", "what is photosynthesis", "__import__('os')"):
        assert compute(not_sums) is None


def reply(turn, question, state=None):
    return turn.respond(state or TutorState(), question)


@pytest.mark.parametrize(
    ("question", "concept", "words"),
    [
        ("Why is the sky blue?", "sky_blue", "scatter"),
        ("What force keeps the Moon in orbit around the Earth?", "gravity", "ravity"),
        ("What is Newton's first law?", "inertia", "unbalanced force"),
        ("how many bones are in the human body", "skeleton", "206"),
        ("do heavier objects fall faster", "gravity", "same acceleration"),
        ("what is fotosynthesis", "photosynthesis", "sunlight"),
        ("what is the biggest planet", "solar_system", "Jupiter"),
        ("why does ice float", "density", "less dense"),
    ],
)
def test_covered_questions_are_answered_from_the_facets(turn, question, concept, words):
    answer = reply(turn, question)
    assert answer.mode == "facet" and answer.concept.id == concept
    assert words in answer.main and answer.text.startswith(answer.main)
    facets = turn.curriculum[concept]
    spoken = " ".join([facets.definition, facets.explanation, *facets.examples,
                       facets.correction, facets.summary])  # fmt: skip
    assert answer.main.split(". ")[-1].rstrip(".") in spoken  # verbatim facet text


@pytest.mark.parametrize(
    "question",
    ["What is the capital of France?", "Who won the World Cup in 2018?", "What is a black hole?"],
)
def test_questions_outside_the_curriculum_are_not_guessed(turn, question):
    answer = reply(turn, question)
    assert answer.mode == "abstain" and "rather not guess" in answer.text
    remote = turn.respond(TutorState(), question, remote=True)
    assert remote.mode == "remote" and remote.text is None


def test_a_detail_the_concept_lacks_is_hedged_not_invented(turn):
    answer = reply(turn, "how hot is the sun")
    assert answer.mode == "hedge" and answer.text.startswith("I'm not sure")
    fish = reply(turn, "how do fish breathe")
    assert fish.mode in ("hedge", "abstain")


def test_asked_again_the_tutor_goes_deeper_not_word_for_word(turn):
    state = TutorState()
    first = reply(turn, "Please explain how the water cycle works, step by step.", state)
    heard = [first.text]
    for _ in range(3):
        again = reply(turn, "Why is that?", state)
        assert again.concept.id == "water_cycle" and again.text not in heard, heard
        heard.append(again.text)
    assert heard[1] == again.concept.explanation
    sky = TutorState()
    said = reply(turn, "Why is the sky blue?", sky).text
    assert reply(turn, "Why is that?", sky).text != said


def test_follow_ups_stay_on_the_concept(turn):
    state = TutorState()
    assert reply(turn, "What is inertia?", state).concept.id == "inertia"
    example = reply(turn, "Can you give me an example?", state)
    assert example.facet == "example" and example.concept.id == "inertia"
    bus = reply(turn, "Why do I lean forward when a bus stops?", state)
    assert bus.concept.id == "inertia" and "bus" in bus.text
    lost = reply(turn, "I don't get it", state)
    assert lost.facet == "simpler" and lost.concept.id == "inertia"
    again = reply(turn, "I still don't understand", state)
    assert again.facet == "misconception"
    written = reply(turn, "What would happen if there was no friction?", state)
    assert written.mode == "llm" and written.notes  # a model writes it, checked on the facets
    doubled = reply(turn, "what if you double the speed of a car", TutorState())
    assert doubled.mode == "facet" and "four" in doubled.main  # the facets say what happens
    moved = reply(turn, "What is photosynthesis?", state)
    assert moved.concept.id == "photosynthesis" and state.concept_id == "photosynthesis"


def test_a_check_question_is_asked_and_the_answer_graded(turn):
    state = TutorState()
    reply(turn, "What is photosynthesis?", state)
    quiz = reply(turn, "test me", state)
    assert quiz.check and state.pending_check is not None
    concept_id, index = state.pending_check
    assert concept_id == "photosynthesis"
    right = turn.curriculum[concept_id].checks[index].accepted[0]
    graded = reply(turn, f"I think it's {right}", state)
    assert graded.mode == "grade" and graded.grade is Grade.CORRECT
    reply(turn, "quiz me", state)
    assert reply(turn, "a banana", state).grade is Grade.WRONG
    reply(turn, "quiz me", state)
    assert reply(turn, "I don't know", state).grade is Grade.NO_ANSWER


def test_words_that_are_no_answer_are_not_graded(turn):
    state = TutorState()
    reply(turn, "What is inertia?", state)
    reply(turn, "quiz me", state)
    again = reply(turn, "okay", state)
    assert again.grade is None and again.text.startswith("Take your time")
    assert state.pending_check is not None  # still waiting for the answer
    example = reply(turn, "Can you give me an example?", state)
    assert example.grade is None and example.main in turn.curriculum["inertia"].examples
    reply(turn, "What is the Moon?", state)
    reply(turn, "quiz me", state)
    asked_back = reply(turn, "how far away is it", state)  # a question of their own
    assert asked_back.grade is None and asked_back.concept.id == "moon"
    assert "km" in asked_back.main or "kilometres" in asked_back.main


def test_a_new_question_while_a_check_is_pending_is_answered(turn):
    state = TutorState()
    reply(turn, "What is gravity?", state)
    reply(turn, "quiz me", state)
    answer = reply(turn, "What is a food chain?", state)
    assert answer.mode == "facet" and answer.concept.id == "food_chain"


def test_grading(curriculum):
    fire = curriculum["combustion"].checks[0]  # fuel, heat and oxygen
    assert grade(fire, "oxygen heat and fuel") is Grade.CORRECT
    assert grade(fire, "fuel and oxygen") is Grade.PARTLY
    assert grade(fire, "water") is Grade.WRONG
    heart = curriculum["heart"].checks[0]  # four
    assert grade(heart, "four") is Grade.CORRECT and grade(heart, "4 chambers") is Grade.CORRECT
    assert grade(heart, "five") is Grade.WRONG
    antibiotics = curriculum["microorganisms"].checks[0]  # no
    assert grade(antibiotics, "nope they don't") is Grade.CORRECT
    assert grade(antibiotics, "yes") is Grade.WRONG
    assert grade(antibiotics, "um") is Grade.NO_ANSWER


def test_social_turns(turn):
    assert reply(turn, "hello").mode == "social"
    assert reply(turn, "thank you").mode == "social"


@pytest.mark.parametrize(
    ("action", "added"),
    [("check", "Here's a question for you"), ("example", "For example"),
     ("hint", "common mix-up"), ("summarise", "In short"), ("encourage", "Good question!"),
     ("pause", None)],
)  # fmt: skip
def test_each_action_adds_its_facet(turn, action, added):
    from agent.tutoring.pedagogy import shaped

    state = TutorState()
    answer = reply(turn, "What is an atom?", state)
    bare = replace(answer, text=answer.main, check=None)
    state.pending_check, state.given = None, {"definition"}
    said = shaped(state, turn.curriculum, bare, action, "What is an atom?", mastered=False)
    assert said.action == action and said.main == bare.text
    if added is None:
        assert said.text == bare.text
    else:
        assert added in said.text
    assert (said.check is not None) == (action == "check")
    assert (state.pending_check is not None) == (action == "check")


def test_the_turn_follows_the_planners_decision(turn):
    state = TutorState()
    for question in ("What is an atom?", "Why is the sky blue?", "What is friction?"):
        answer = reply(turn, question, state)
        assert answer.decision is not None and answer.action == answer.decision.action
        assert (answer.check is not None) == (answer.action == "check")
        assert state.lesson.concept_id == answer.concept.id


def test_the_learner_model_traces_mastery(curriculum):
    from agent.tutoring import learner
    from planner.lesson import PRIOR, LessonPlanner
    from planner.model import default_model

    def correct(lesson):  # a check question asked, and answered right
        lesson.choose("check")
        lesson.observe({"answer": "correct", "question": "no", "silence": "short",
                        "face": "present"})  # fmt: skip

    lesson = LessonPlanner(default_model())
    assert learner.mastery(lesson, curriculum, "force") == PRIOR  # no prerequisites, never met
    learner.focus(lesson, curriculum, "force")
    for _ in range(4):
        correct(lesson)
    assert learner.mastery(lesson, curriculum, "force") > 0.95
    assert learner.mastery(lesson, curriculum, "gravity") > PRIOR  # its prerequisite is known
    learner.focus(lesson, curriculum, "gravity")
    before = learner.mastery(lesson, curriculum, "gravity")
    lesson.observe({"answer": "wrong", "question": "no", "silence": "short", "face": "present"})
    assert learner.mastery(lesson, curriculum, "gravity") < before
    assert learner.mastery(lesson, curriculum, "force") > 0.9  # kept while away from it
    after = {}
    for said in ("correct", "partly", "wrong"):
        fresh = LessonPlanner(default_model())
        learner.focus(fresh, curriculum, "cell")
        fresh.planner.acted(fresh.model.actions.index("check"))
        fresh.observe({"answer": said, "question": "no", "silence": "short", "face": "present"})
        after[said] = learner.mastery(fresh, curriculum, "cell")
    assert after["correct"] > after["partly"] > after["wrong"]


def test_replies_carry_the_concepts_mastery(turn):
    state = TutorState()
    taught = reply(turn, "What is photosynthesis?", state)
    assert 0.2 < taught.mastery < 0.5
    reply(turn, "test me", state)
    concept_id, index = state.pending_check
    graded = reply(turn, turn.curriculum[concept_id].checks[index].accepted[0], state)
    assert graded.mastery > taught.mastery and graded.as_fields()["mastery"] == round(
        graded.mastery, 3
    )
