"""Which concept and which sentence answer a question: found by one sentence's meaning and
words, a named concept giving way to one that can answer, ASR slips repaired, and the
direction of "made of" read right. Every answer is checked against the curriculum's text."""

from __future__ import annotations

import pytest

from agent.tutoring.state import TutorState
from agent.tutoring.words import repair_question_words, stem


def answer(turn, question):
    return turn.respond(TutorState(), question)


def test_stems_match_plurals_and_verb_forms():
    assert stem("vaccines") == stem("vaccine")
    assert stem("boxes") == stem("box") and stem("stops") == stem("stop")
    assert stem("breathes") == stem("breathe") and stem("glass") == "glass"
    assert stem("batteries") == "battery"


def test_question_word_slips_are_repaired_and_nothing_else():
    assert repair_question_words("wat is fotosynthesis?") == "what is fotosynthesis?"
    assert repair_question_words("Wot makes it rain") == "what makes it rain"
    assert repair_question_words("what is water") == "what is water"


@pytest.mark.parametrize(
    ("question", "concept", "words"),
    [
        # worded like one sentence of a concept it never names
        ("what protects the brain", "skeleton", "skull"),
        # a named concept ("temperature") that cannot answer gives way to one that can
        ("which metal is liquid at room temperature", "metals", "ercury"),
        ("What keeps the Moon going around the Earth?", "gravity", "gravity"),
        # a name misspelled as ASR does: repaired before the sentence is chosen
        ("what is gravitee", "gravity", "attraction"),
        ("wat is fotosynthesis", "photosynthesis", "sunlight"),
        # "what is X made of" is not answered by "everything is made of X"
        ("what is an atom made of", "atom", "protons"),
        # how a thing works is its explanation, not its definition
        ("How do magnets work?", "magnetism", "pole"),
        # who: the sentence that names a person, not the closest in meaning
        ("who came up with the periodic table", "periodic_table", "Mendeleev"),
    ],
)
def test_the_answering_concept_and_sentence(turn, question, concept, words):
    reply = answer(turn, question)
    assert reply.mode == "facet", reply.text
    assert reply.concept.id == concept and words in reply.main


def test_who_after_a_concept_names_the_person_and_only_its_person(turn):
    state = TutorState()
    turn.respond(state, "What is evolution?")
    reply = turn.respond(state, "who came up with it")
    assert reply.concept.id == "natural_selection" and "Darwin" in reply.main, reply.text
    turn.respond(state, "what is the periodic table")
    # Mendeleev is the conversation's person, but neither of these asks about his table
    assert turn.respond(state, "who invented the telephone").mode == "abstain"
    gravity = turn.respond(state, "who discovered gravity")  # the curriculum names no one
    assert gravity.mode == "hedge" and gravity.concept.id == "gravity", gravity.text


def test_a_mention_is_not_an_answer(turn):
    # classification's whale sentence says "fish" and "breathes", but not how fish breathe
    assert answer(turn, "how do fish breathe").mode in ("hedge", "abstain")
    # "white blood cells attack germs" mentions germs; it does not say what they are
    germs = answer(turn, "what are germs")
    assert germs.mode == "hedge" or germs.concept.id == "microorganisms"
