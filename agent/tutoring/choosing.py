"""Which concept answers a question: the one it names, the conversation's, or one found by
meaning, judged by whether its facets can answer, since answering from the wrong concept is
worse than saying "I'm not sure"."""

from __future__ import annotations

import re

from agent.tutoring.curriculum import Concept, Curriculum
from agent.tutoring.facets import ASKS_WHO, BestSentence, SentencePicker
from agent.tutoring.intents import Intent, asks_quantity, has_number
from agent.tutoring.matching import ConceptMatcher, similar_spelling
from agent.tutoring.words import normalise

DEFINE_WORDS = set(
    "what whats is are was a an the define definition meaning of tell me about explain "
    "describe please can could you teach i want to know learn s do does mean".split()
)
NOT_ANSWERS = frozenset({"summary"})  # a restatement, close to any question about its concept
ANSWER_SIMILARITY = 0.45  # a specific question's best facet sentence must reach this
WHY_SENTENCE_SIMILARITY = 0.6  # a why-question answered by one sentence instead
MEANING_SENTENCE_SIMILARITY = 0.55  # a concept found by meaning must answer this well
STRONG_SENTENCE_SIMILARITY = 0.7  # ... and this well where the concept as a whole is far
NAME_BONUS = 0.05  # naming a concept counts for it
NAMED_LEAD = 0.1  # another concept must answer this much better to beat a named one
MIN_COVERAGE = 0.6  # below this share of the question's words, a weak match is off topic
STRONG_COVERAGE = 0.5  # a strong sentence match may leave a synonym or two unmatched
CANDIDATES = 3  # concepts found by meaning, per way of finding them
# a who-question about the conversation's concept: "who came up with it", "who found that out"
REFERS_BACK = re.compile(
    r"\b(?:it|this|that|these|those|them|the idea|the theory)(?: out| first)?$"
)


class ConceptChoice:
    """Shared by every session; pure given the curriculum and the models."""

    def __init__(self, curriculum: Curriculum, matcher: ConceptMatcher, picker: SentencePicker):
        self.curriculum = curriculum
        self.matcher = matcher
        self.picker = picker
        self._concepts = list(curriculum.concepts.values())

    def choose(
        self, text: str, kind: Intent, named: Concept | None, current: Concept | None = None
    ) -> Concept | None:
        """The concept whose facets answer the question best.

        A concept named outright wins a "what is X" question, and any question its facets
        can answer unless another answers clearly better. Otherwise the named concept, the
        conversation's current one and those closest in meaning (as a whole, or by one
        sentence) compete on their best facet sentence; one found only by meaning must be
        close on every count, or the tutor says it is not sure.
        """
        if named is not None and kind is Intent.DEFINE and self.pure_definition(text, named):
            return named
        if ASKS_WHO.search(normalise(text)):  # answered by the person a concept names
            if named is not None:  # one it does not name a person for: a hedge on it
                return named
            if current is not None and REFERS_BACK.search(normalise(text)):
                return current  # "who came up with it"
        candidates = {c.id: c for c in self.matcher.nearest(text, CANDIDATES)}
        candidates |= {c.id: c for c in self.picker.nearest(self._concepts, text, CANDIDATES)}
        for known in (named, current):
            if known is not None:
                candidates[known.id] = known
        prefer = "misconception" if kind is Intent.YES_NO else None
        best = {
            cid: self.picker.best(c, text, prefer=prefer, without=NOT_ANSWERS)
            for cid, c in candidates.items()
        }
        scored = {
            cid: best[cid].score + (NAME_BONUS if c is named or c is current else 0.0)
            for cid, c in candidates.items()
        }
        ranked = sorted(scored, key=scored.__getitem__, reverse=True)
        top = ranked[0]
        if named is not None and self.answers(named, best[named.id], text, kind):
            # a named concept keeps a small lead, except against the conversation's own
            lead = 0.0 if current is not None else NAMED_LEAD
            return named if scored[top] - scored[named.id] < lead else candidates[top]
        if current is not None and top == current.id and scored[top] >= ANSWER_SIMILARITY:
            return current
        for cid in ranked:  # the closest that answers on its own evidence
            if cid != (named.id if named else None) and self._found_by_meaning(
                candidates[cid], best[cid], text, kind
            ):
                return candidates[cid]
        return named

    def _found_by_meaning(
        self, concept: Concept, best: BestSentence, text: str, kind: Intent
    ) -> bool:
        """Close enough to answer without being named: its best sentence answers well and
        speaks of the question's words, and the concept as a whole is near the question
        (or that sentence is very near it)."""
        if not self.answers(concept, best, text, kind):
            return False
        coverage = self.matcher.coverage(concept, text)
        if best.score >= STRONG_SENTENCE_SIMILARITY:
            return coverage >= STRONG_COVERAGE
        if (
            best.words == 1.0
            and best.score >= MEANING_SENTENCE_SIMILARITY
            and kind is Intent.SPECIFIC
            and coverage >= MIN_COVERAGE
        ):  # a fact asked for in the sentence's own words ("the skull protects the brain");
            return True  # a sentence that only mentions things says neither what nor why
        return (
            best.score >= MEANING_SENTENCE_SIMILARITY
            and coverage >= MIN_COVERAGE
            and self.matcher.close(text, concept.id)
        )

    def answers(self, concept: Concept, best: BestSentence, text: str, kind: Intent) -> bool:
        """Whether the concept's facets answer the question rather than a hedge: its best
        sentence is close enough, has a number where one is asked for, and is on topic."""
        if kind is Intent.WHY:
            return best.score >= WHY_SENTENCE_SIMILARITY or not self.off_topic(
                concept, text, best.score
            )
        return (
            best.score >= ANSWER_SIMILARITY
            and not (asks_quantity(text) and not has_number(best.sentence.text))
            and not self.off_topic(concept, text, best.score)
        )

    def pure_definition(self, text: str, concept: Concept) -> bool:
        """ "What is photosynthesis?" asks for the definition; "what is an atom made of" or
        "what are platelets" (a part of blood) ask for one fact: the best sentence."""
        asked = set(normalise(text).split()) - DEFINE_WORDS
        names = set(normalise(concept.name).split())  # an alias may name a part of it
        return all(  # a name ASR misspelled ("fotosynthesis") still names it
            word in names or any(similar_spelling(word, part) for part in names) for word in asked
        )

    def off_topic(self, concept: Concept, text: str, similarity: float) -> bool:
        """The question is about something the concept does not speak of ("how do fish
        breathe" names breathing, but the lungs concept never mentions fish)."""
        return similarity < WHY_SENTENCE_SIMILARITY and (
            self.matcher.coverage(concept, text) < MIN_COVERAGE
        )
