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

FUZZY_MIN_LENGTH = 7  # names shorter than this are matched exactly only
FUZZY_RATIO = 0.86
NEAREST_FLOOR = 0.35  # concepts further than this are not even candidates


FUNCTION_WORDS = set(
    "a an the is are was were be been do does did doing can could will would should may might "
    "must i you he she it we they me my your our their its this that these those there here "
    "what why how which when where who whom whose of to in on at by for from with about into "
    "than then so and or but if not no yes very really just also too please tell explain "
    "happen happens make makes get gets have has had some any much many more most".split()
)


def stem(word: str) -> str:
    """A crude English stem, enough to match 'stops' with 'stop' and 'breathes' with 'breathe'."""
    for suffix in ("ing", "es", "ed", "s"):
        if len(word) > len(suffix) + 2 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


def spelling_ratio(word: str, name: str) -> float:
    return SequenceMatcher(None, word, name).ratio()


def similar_spelling(word: str, name: str) -> bool:
    """Whether a long word is the name misspelled, as ASR does ("fotosynthesis")."""
    return len(name) >= FUZZY_MIN_LENGTH and spelling_ratio(word, name) >= FUZZY_RATIO


def normalise(text: str) -> str:
    """Lower case, apostrophes dropped ("newton's" → "newtons"), other marks as spaces."""
    text = text.lower().replace("’", "'").replace("'", "")
    return " ".join(re.sub(r"[^a-z0-9]+", " ", text).split())


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
        best: tuple[float, str] | None = None
        for word in set(words.split()):
            if len(word) < FUZZY_MIN_LENGTH - 1 or word in self._known_words:
                continue
            for name in self._long_names:
                if abs(len(name) - len(word)) > 2:
                    continue
                ratio = spelling_ratio(word, name)
                if ratio >= FUZZY_RATIO and (best is None or ratio > best[0]):
                    best = (ratio, name)
        if best is not None:
            return ConceptMatch(self.curriculum[self._names[best[1]]], "spelling", best[0], best[1])
        return None

    def coverage(self, concept: Concept, text: str) -> float:
        """The share of the question's content words the concept's own text uses."""
        if concept.id not in self._vocabulary:
            words = normalise(concept_text(concept)).split()
            self._vocabulary[concept.id] = {stem(w) for w in words}
        words = [stem(w) for w in normalise(text).split() if w not in FUNCTION_WORDS]
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
