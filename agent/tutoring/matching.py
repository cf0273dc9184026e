"""Which concept a learner's words are about.

By name: every concept's name and aliases, matched as whole words (the longest match wins,
so "kinetic energy" beats "energy"), with a spelling-tolerant pass for long names that ASR
garbles ("fotosynthesis"). By meaning: the concepts nearest the question in the
curriculum's retrieval index (MiniLM), and the share of its words a concept speaks of;
the turn (agent/tutoring/turn.py) weighs these, since answering from the wrong concept is
worse than saying "I'm not sure".
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from difflib import SequenceMatcher

import numpy as np

from agent.retrieval.index import HybridIndex
from agent.retrieval.notes import Passage
from agent.tutoring.curriculum import Concept, Curriculum
from agent.tutoring.words import FUNCTION_WORDS, normalise, stem

FUZZY_MIN_LENGTH = 7  # names shorter than this are matched exactly only
FUZZY_RATIO = 0.86
FUZZY_PREFIX_RATIO = 0.8  # enough where the first letters agree ("gravitee" for "gravity")
FUZZY_PREFIX = 5
NEAREST_FLOOR = 0.35  # concepts further than this are not even candidates
# What a question asks of its topic, not the topic: "how fast", "... work".
DIMENSION_ASKED = re.compile(
    r"\bhow (?:fast|far|long|big|hot|cold|old|heavy|tall|deep|wide|high)\b|"
    r"\b(?:work|works|happen|happens)$"
)


def spelling_ratio(word: str, name: str) -> float:
    return SequenceMatcher(None, word, name).ratio()


def spelling_match(word: str, name: str) -> float:
    """How surely a word is the name misspelled (its spelling ratio), or 0.0."""
    ratio = spelling_ratio(word, name)
    if ratio >= FUZZY_RATIO or (
        ratio >= FUZZY_PREFIX_RATIO and word[:FUZZY_PREFIX] == name[:FUZZY_PREFIX]
    ):
        return ratio
    return 0.0


def similar_spelling(word: str, name: str) -> bool:
    """Whether a long word is the name misspelled, as ASR does ("fotosynthesis")."""
    return len(name) >= FUZZY_MIN_LENGTH and spelling_match(word, name) > 0.0


@dataclass(frozen=True)
class ConceptPassage(Passage):
    """A concept as retrieval sees it: what the LLM may read, searched with its names."""

    concept_id: str = ""
    keywords: str = ""

    def searchable(self) -> str:
        return f"{self.section}. {self.keywords}. {self.text}"


def concept_text(concept: Concept) -> str:
    """Everything a concept says, for its vocabulary."""
    checks = " ".join(check.question for check in concept.checks)
    return " ".join([concept.name, *concept.aliases, concept.definition, concept.explanation,
                     *concept.examples, concept.misconception, concept.correction,
                     concept.summary, concept.simpler or "", checks])  # fmt: skip


def concept_passages(curriculum: Curriculum) -> list[ConceptPassage]:
    """One passage per concept: definition and explanation, cited as 'Subject › name'."""
    return [
        ConceptPassage(
            source=f"{concept.subject.replace(' ', '_')}.toml",
            title=concept.subject.capitalize(),
            section=concept.name,
            text=f"{concept.definition} {concept.explanation}",
            concept_id=concept.id,
            keywords=" ".join(
                [", ".join(concept.aliases) + ".", *concept.examples, concept.misconception]
            ),
        )
        for concept in curriculum.concepts.values()
    ]


@dataclass(frozen=True)
class ConceptMatch:
    concept: Concept
    how: str  # "name", "spelling" or "meaning"
    score: float  # 1.0 for a name; similarity otherwise
    phrase: str = ""  # the words that matched, for a name
    heard: str = ""  # the word as it was written, for a misspelled name


class ConceptMatcher:
    """Finds the concept a question is about, or None when no concept clearly is."""

    def __init__(
        self,
        curriculum: Curriculum,
        index: HybridIndex | None = None,
        *,
        min_similarity: float = 0.45,
    ) -> None:
        self.curriculum = curriculum
        self.index = index
        self.min_similarity = min_similarity
        self._names: dict[str, str] = {}
        for concept in curriculum.concepts.values():
            for name in concept.names:
                self._names.setdefault(normalise(name), concept.id)
        phrases = sorted(self._names, key=len, reverse=True)
        # A lookahead finds a match at every position, overlapping ones included, so "the
        # moon" does not hide "moon in orbit"; at each position the longest comes first.
        alternatives = "|".join(map(re.escape, phrases))
        self._pattern = re.compile(r"(?=\b(" + alternatives + r")\b)")
        self._long_names = [p for p in phrases if " " not in p and len(p) >= FUZZY_MIN_LENGTH]
        # The index's rows, one per concept (it is built from concept_passages).
        self._concept_at = [p.concept_id for p in index.passages] if index is not None else []
        self._row_of = {concept_id: row for row, concept_id in enumerate(self._concept_at)}
        self._vocabulary: dict[str, set[str]] = {}
        self._recent: dict[str, np.ndarray] = {}
        self._lock = threading.Lock()
        # A word the curriculum itself uses is spelled right: "plants" is not "planets".
        self._known_words = set(
            normalise(" ".join(concept_text(c) for c in curriculum.concepts.values())).split()
        )

    def by_name(self, text: str) -> ConceptMatch | None:
        """The concept whose name or alias appears in the text (longest, then earliest)."""
        words = normalise(text)
        found = [m.group(1) for m in self._pattern.finditer(words)]
        if found:
            phrase = max(found, key=len)
            return ConceptMatch(self.curriculum[self._names[phrase]], "name", 1.0, phrase)
        best: tuple[float, str, str] | None = None
        for word in sorted(set(words.split())):
            if len(word) < FUZZY_MIN_LENGTH - 1 or word in self._known_words:
                continue
            for name in self._long_names:
                if abs(len(name) - len(word)) > 2:
                    continue
                ratio = spelling_match(word, name)
                if ratio > 0.0 and (best is None or ratio > best[0]):
                    best = (ratio, name, word)
        if best is not None:
            ratio, name, word = best
            return ConceptMatch(self.curriculum[self._names[name]], "spelling", ratio, name, word)
        return None

    @staticmethod
    def respelled(text: str, match: ConceptMatch) -> str:
        """The text with a misspelled name written right, so everything after the match
        (sentence choice, word coverage) reads the name: "what is gravitee" → "... gravity"."""
        if not match.heard:
            return text
        return re.sub(rf"\b{re.escape(match.heard)}\b", match.phrase, text, flags=re.IGNORECASE)

    def coverage(self, concept: Concept, text: str) -> float:
        """The share of the question's content words the concept's own text uses."""
        if concept.id not in self._vocabulary:
            words = normalise(concept_text(concept)).split()
            self._vocabulary[concept.id] = {stem(w) for w in words}
        asked = DIMENSION_ASKED.sub("how", normalise(text))
        words = [stem(w) for w in asked.split() if w not in FUNCTION_WORDS]
        if not words:
            return 1.0
        return sum(w in self._vocabulary[concept.id] for w in words) / len(words)

    def _dense(self, text: str) -> np.ndarray:
        """Cosine of the text to every concept; the last few texts are kept (a turn asks
        this two or three times, and its provisional transcript asked it already)."""
        if self.index is None or not text.strip():
            return np.zeros(0)
        with self._lock:
            known = self._recent.get(text)
        if known is None:
            known = self.index.scores(text)[1]
            with self._lock:  # sessions' turns run in worker threads
                self._recent[text] = known
                while len(self._recent) > 32:
                    self._recent.pop(next(iter(self._recent)))
        return known

    def nearest(self, text: str, k: int) -> list[Concept]:
        """The k concepts closest in meaning that pass the loose floor, closest first."""
        dense = self._dense(text)
        order = dense.argsort()[::-1][:k]
        return [self.curriculum[self._concept_at[i]] for i in order if dense[i] >= NEAREST_FLOOR]

    def close(self, text: str, concept_id: str) -> bool:
        """Whether the concept as a whole is close in meaning to the text."""
        row = self._row_of.get(concept_id)
        return row is not None and float(self._dense(text)[row]) >= self.min_similarity
