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
from agent.tutoring.words import naming_words, normalise, stem, topic_stems

Embed = Callable[[list[str]], np.ndarray]  # unit-norm rows
PREFER_BONUS = 0.05
# Meaning alone confuses a question with its neighbours ("what is at the start of a food
# chain" is closest to "many food chains make a food web"): a sentence that also uses the
# question's own topic words, beyond the concept's name, gets up to this much more.
WORDS_BONUS = 0.12
# A check question's answer is terse and specific ("Mercury."): only the same question gets
# it, not a neighbour ("which planet is hottest" is not "which planet is closest").
CHECK_SIMILARITY = 0.85
SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9])")
# "what is an atom made of": the thing asked about, whose parts the answer names
ASKS_PARTS = re.compile(r"\b(?:is|are|was|were) (?:an? |the )?(.+?) made (?:up )?of$")
MADE_OF = re.compile(r"\bmade (?:up )?of ((?:\w+ ){0,4}\w+)")  # the words that follow
# "who came up with it", "who discovered it": a sentence that names a person answers
ASKS_WHO = re.compile(r"^(?:so |and |but |um |ok(?:ay)? )*who\b")
_NAME = r"(?:[A-Z][a-z]+ )*[A-Z][a-z]+"
NAMES_A_PERSON = re.compile(
    rf"\b{_NAME}(?: and {_NAME})? (?:first )?(?:described|discovered|proposed|invented|"
    rf"developed|showed|found|explained|named|came up with|published|worked out)\b|\bby {_NAME}"
)


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
    similarity: float  # cosine of the question and the sentence
    words: float = 0.0  # share of the question's topic words the sentence uses

    @property
    def score(self) -> float:
        """The evidence that this sentence answers: its meaning and its words."""
        return self.similarity + WORDS_BONUS * self.words


def name_stems(concept: Concept) -> frozenset[str]:
    """The stems of a concept's names: naming it says nothing about which facet answers."""
    return frozenset(stem(word) for word in naming_words(concept.names))


class SentencePicker:
    """Finds the facet sentence closest in meaning to a question, per concept, cached."""

    def __init__(self, embed: Embed) -> None:
        self._embed = embed
        self._cache: dict[str, tuple[list[FacetSentence], np.ndarray]] = {}
        self._stems: dict[str, list[set[str]]] = {}  # each sentence's topic words
        self._everything: tuple[list[Concept], np.ndarray, np.ndarray] | None = None
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
        names = name_stems(concept)
        asked = topic_stems(question, names)
        if concept.id not in self._stems:
            self._stems[concept.id] = [topic_stems(f.matched) for f in found]
        excluded = set()
        if parts_of := ASKS_PARTS.search(normalise(question)):
            excluded = _made_of(found, frozenset(map(stem, parts_of.group(1).split())))
        ranked = [
            (float(score) + (PREFER_BONUS if f.facet == prefer else 0.0)
             + WORDS_BONUS * _share(asked, said), i)
            for i, (f, score, said) in enumerate(zip(found, scores, self._stems[concept.id],
                                                     strict=True))
            if f.facet not in without and (f.facet != "check" or score >= CHECK_SIMILARITY)
            and i not in excluded
        ]  # fmt: skip
        _, at = max(ranked)
        words = _share(asked, self._stems[concept.id][at])
        return BestSentence(found[at], float(scores[at]), words)

    def person_sentence(self, concept: Concept) -> FacetSentence | None:
        """The sentence that names a person ("Charles Darwin described this idea"): what a
        who-question of this concept asks for, however far its words are from the question."""
        found, _ = self._of(concept)
        return next(
            (f for f in found if f.facet != "check" and NAMES_A_PERSON.search(f.text)), None
        )

    def nearest(self, concepts: list[Concept], question: str, k: int) -> list[Concept]:
        """The k concepts with the sentences closest in meaning to the question, over the
        whole curriculum: a question worded like one facet sentence ("what protects the
        brain") finds its concept even where the concept as a whole is far from it."""
        if self._everything is None or len(self._everything[0]) != len(concepts):
            self.warm(concepts)
            owner = np.concatenate([np.full(len(self._cache[c.id][0]), n)
                                    for n, c in enumerate(concepts)])  # fmt: skip
            stacked = np.concatenate([self._cache[c.id][1] for c in concepts])
            self._everything = (concepts, stacked, owner)
        known, stacked, owner = self._everything
        scores = stacked @ self._question(question)
        chosen: list[Concept] = []
        for row in np.argsort(scores)[::-1]:
            concept = known[int(owner[row])]
            if concept not in chosen:
                chosen.append(concept)
            if len(chosen) == k:
                break
        return chosen


def _made_of(found: list[FacetSentence], asked: frozenset[str]) -> set[int]:
    """Sentences that say what is made of the thing asked about ("everything is made of
    atoms", "an element is made of one kind of atom"): they answer the reverse of "what is
    an atom made of"."""
    return {
        i
        for i, f in enumerate(found)
        for m in MADE_OF.finditer(f.matched.lower())
        if any(stem(word) in asked for word in m.group(1).split())
    }


def _share(asked: set[str], said: set[str]) -> float:
    return len(asked & said) / len(asked) if asked else 0.0
