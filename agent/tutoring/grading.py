"""Grading a learner's reply to a check question: correct, partly, wrong or no answer.

Accepted answers are matched as words first (numbers as numbers, yes and no with their
everyday forms, plurals folded), since "four" and "five" are close in meaning but not
both right. Only replies of more than a word or two that match no accepted answer are
compared by meaning (MiniLM), where a paraphrase can still be right.
"""

from __future__ import annotations

import re
from enum import StrEnum

from agent.tutoring.curriculum import CheckQuestion
from agent.tutoring.intents import dont_know
from agent.tutoring.numbers import number_words_to_digits

STOPWORDS = {
    "a", "an", "the", "it", "is", "are", "of", "to", "and", "in", "on", "by", "its", "they",
    "that", "this", "i", "think", "maybe", "um", "uh", "so", "well", "because",
}  # fmt: skip
YES = {"yes", "yeah", "yep", "yup", "sure", "correct", "true", "right"}
NO = {"no", "nope", "nah", "not", "false", "never", "dont", "doesnt", "cant", "isnt"}
CORRECT_SIMILARITY = 0.8
PARTLY_SIMILARITY = 0.6


class Grade(StrEnum):
    CORRECT = "correct"
    PARTLY = "partly"
    WRONG = "wrong"
    NO_ANSWER = "no_answer"


def _words(text: str) -> list[str]:
    text = number_words_to_digits(text.lower().replace("'", "").replace("’", ""))
    words = re.findall(r"[a-z0-9.]+", text)
    return [w[:-1] if len(w) > 3 and w.endswith("s") and not w.endswith("ss") else w for w in words]


def _polarity(words: list[str]) -> str | None:
    if any(w in NO for w in words):
        return "no"
    if any(w in YES for w in words):
        return "yes"
    return None


def _content(words: list[str]) -> list[str]:
    return [w for w in words if w not in STOPWORDS]


def grade(check: CheckQuestion, reply: str, similarity=None) -> Grade:
    """How well `reply` answers `check`. `similarity(a, b)` (cosine) is only used for
    longer replies that match no accepted answer word for word."""
    said = _words(reply)
    if not _content(said) or (dont_know(reply) and len(_content(said)) <= 4):
        return Grade.NO_ANSWER
    best_share = 0.0
    for accepted in check.accepted:
        wanted = _content(_words(accepted))
        if wanted in (["yes"], ["no"]):
            polarity = _polarity(said)
            if polarity is not None:
                return Grade.CORRECT if polarity == wanted[0] else Grade.WRONG
            continue
        if not wanted:
            continue
        held = sum(word in said for word in wanted) / len(wanted)
        if held == 1.0:
            return Grade.CORRECT
        best_share = max(best_share, held)
    numbers_wanted = any(re.search(r"\d", a) for a in check.accepted)
    if best_share >= 0.5 and not numbers_wanted:
        return Grade.PARTLY
    if similarity is not None and len(_content(said)) >= 2 and not numbers_wanted:
        score = max(similarity(reply, accepted) for accepted in check.accepted)
        if score >= CORRECT_SIMILARITY:
            return Grade.CORRECT
        if score >= PARTLY_SIMILARITY:
            return Grade.PARTLY
    return Grade.WRONG
