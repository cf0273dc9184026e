"""A concept's facets as sentences the tutor can say, and the one that best answers a question.

"How many bones does an adult have?" is answered by one sentence of the skeleton's
definition, not by the whole definition; "Do heavy things fall faster?" by the correction
of gravity's misconception. Sentences are embedded once per concept (MiniLM) on first use.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from agent.tutoring.curriculum import Concept

Embed = Callable[[list[str]], np.ndarray]  # unit-norm rows
PREFER_BONUS = 0.05
# A check question's answer is terse and specific ("Mercury."): only the same question gets
# it, not a neighbour ("which planet is hottest" is not "which planet is closest").
CHECK_SIMILARITY = 0.85
SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9])")


def sentences(text: str) -> list[str]:
    return [s.strip() for s in SENTENCE_END.split(text) if s.strip()]


@dataclass(frozen=True)
class FacetSentence:
    facet: str  # definition, explanation, example, misconception or summary
    text: str  # what the tutor says when this sentence answers
    matched: str  # what the question is compared with
    at: int = 0  # its place within its facet


def facet_sentences(concept: Concept) -> list[FacetSentence]:
    """Every sentence the tutor may answer with; a misconception is matched on its own
    words but answered with its correction."""
    found = [
        FacetSentence("definition", s, s, i) for i, s in enumerate(sentences(concept.definition))
    ]
    found += [
        FacetSentence("explanation", s, s, i) for i, s in enumerate(sentences(concept.explanation))
    ]
    found += [FacetSentence("example", e, e, i) for i, e in enumerate(concept.examples)]
    found.append(FacetSentence("misconception", concept.correction, concept.misconception))
    found.append(FacetSentence("summary", concept.summary, concept.summary))
    found += [  # a learner's question close to a check question gets its accepted answer
        FacetSentence("check", check.accepted[0], check.question, i)
        for i, check in enumerate(concept.checks)
    ]
    return found


def spoken(concept: Concept, sentence: FacetSentence) -> str:
    """What to say when `sentence` answers: a definition whole (its sentences belong
    together), an explanation's sentence with the one after it (the reason usually
    follows), anything else as it is."""
    if sentence.facet == "definition":
        return concept.definition
    if sentence.facet == "explanation":
        parts = sentences(concept.explanation)
        return " ".join(parts[sentence.at : sentence.at + 2])
    if sentence.facet == "check":
        return sentence.text[:1].upper() + sentence.text[1:] + "."
    return sentence.text


@dataclass(frozen=True)
class BestSentence:
    sentence: FacetSentence
    similarity: float


class SentencePicker:
    """Finds the facet sentence closest in meaning to a question, per concept, cached."""

    def __init__(self, embed: Embed) -> None:
        self._embed = embed
        self._cache: dict[str, tuple[list[FacetSentence], np.ndarray]] = {}
        self._questions: dict[str, np.ndarray] = {}  # the last few questions' embeddings
        self._lock = threading.Lock()

    def _of(self, concept: Concept) -> tuple[list[FacetSentence], np.ndarray]:
        if concept.id not in self._cache:
            found = facet_sentences(concept)
            self._cache[concept.id] = (found, self._embed([f.matched for f in found]))
        return self._cache[concept.id]

    def _question(self, question: str) -> np.ndarray:
        with self._lock:
            known = self._questions.get(question)
        if known is None:
            known = self._embed([question])[0]
            with self._lock:  # sessions' turns run in worker threads
                self._questions[question] = known
                while len(self._questions) > 64:
                    self._questions.pop(next(iter(self._questions)))
        return known

    def warm(self, concepts: list[Concept]) -> None:
        """Embed every concept's sentences now, in one batch (about 3 s for the shipped
        curriculum on two cores), rather than 50-100 ms per concept inside learners' turns."""
        todo = [c for c in concepts if c.id not in self._cache]
        found = [facet_sentences(c) for c in todo]
        vectors = self._embed([f.matched for group in found for f in group])
        at = 0
        for concept, group in zip(todo, found, strict=True):
            self._cache[concept.id] = (group, vectors[at : at + len(group)])
            at += len(group)

    def best(
        self, concept: Concept, question: str, *, prefer: str | None = None,
        without: frozenset[str] = frozenset(),
    ) -> BestSentence:  # fmt: skip
        """The closest sentence; `prefer` gives one facet a small edge (a yes/no question is
        often a misconception), `without` leaves facets out."""
        found, vectors = self._of(concept)
        scores = vectors @ self._question(question)
        ranked = [
            (float(score) + (PREFER_BONUS if f.facet == prefer else 0.0), i)
            for i, (f, score) in enumerate(zip(found, scores, strict=True))
            if f.facet not in without and (f.facet != "check" or score >= CHECK_SIMILARITY)
        ]
        _, at = max(ranked)
        return BestSentence(found[at], float(scores[at]))
