"""One learner turn: what the tutor says, from the curriculum, the session's state and the
planner's action. The same logic answers WebRTC, `/ws` and MCP's `ask`.

The reply is chosen in a fixed order: exact arithmetic; social niceties; the answer to a
pending check question (graded); a follow-up on the current concept; a question about a
concept (the facet its kind of question wants); and, for anything the curriculum does not
cover, the remote tier when there is one, else an honest "I'm not sure". The EFE planner
then observes the turn (its grade, the learner's signals) and chooses an action, which adds
its facet (agent/tutoring/pedagogy.py). Facet text is spoken verbatim: it is right, and
needs no model.
"""

from __future__ import annotations

import copy
from dataclasses import replace

from agent.tutoring import learner, pedagogy
from agent.tutoring.arithmetic import compute
from agent.tutoring.curriculum import Concept, Curriculum
from agent.tutoring.facets import BestSentence, SentencePicker, spoken
from agent.tutoring.grading import Grade, grade
from agent.tutoring.intents import (
    Intent,
    acknowledgement,
    asks_back,
    asks_quantity,
    follow_up,
    has_number,
    is_question,
    question_kind,
    social,
)
from agent.tutoring.matching import ConceptMatcher, normalise, similar_spelling
from agent.tutoring.state import TurnReply, TutorState
from planner.observations import LearnerSignals

REFERS_BACK = {"it", "its", "that", "this", "they", "them", "those", "these", "there"}
DEFINE_WORDS = set(
    "what whats is are was a an the define definition meaning of tell me about explain "
    "describe please can could you teach i want to know learn s do does mean".split()
)
NOT_REASONS = frozenset({"example", "summary"})
NOT_ANSWERS = frozenset({"summary"})  # a restatement, close to any question about its concept
ANSWER_SIMILARITY = 0.45  # a specific question's best facet sentence must reach this
WHY_SENTENCE_SIMILARITY = 0.6  # a why-question answered by one sentence instead
MEANING_SENTENCE_SIMILARITY = 0.55  # a concept found by meaning must answer this well
NAME_BONUS = 0.05  # naming a concept counts for it
NAMED_LEAD = 0.1  # another concept must answer this much better to beat a named one
MIN_COVERAGE = 0.6  # below this share of the question's words, a weak match is off topic
ABSTAIN = (
    "I'm not sure about that one, and I'd rather not guess. I can teach science and "
    "arithmetic: try asking me about forces, cells, the solar system or fractions."
)
SOCIAL_REPLIES = {
    Intent.GREETING: "Hello! What would you like to learn about today?",
    Intent.THANKS: "You're welcome! What would you like to explore next?",
    Intent.BYE: "Goodbye, and well done today!",
}
STATEMENT_REPLY = (
    "Tell me more, or ask me a question about science or numbers, and we'll explore it."
)


def _refers_back(text: str) -> bool:
    return bool(REFERS_BACK & set(normalise(text).split()))


def _resolved(text: str, concept: Concept) -> str:
    """The first word pointing back replaced by the concept's name: "how far away is it"
    → "how far away is the Moon"."""
    words = text.split()
    for i, word in enumerate(words):
        if normalise(word) in REFERS_BACK - {"there"}:
            words[i] = concept.name + word[len(word.rstrip("?.!,")) :]
            return " ".join(words)
    return text


class TeachingTurn:
    """Shared by every session on a host; each conversation keeps its own TutorState."""

    def __init__(
        self, curriculum: Curriculum, matcher: ConceptMatcher, picker: SentencePicker,
        similarity=None,
    ) -> None:  # fmt: skip
        self.curriculum = curriculum
        self.matcher = matcher
        self.picker = picker
        self.similarity = similarity  # (a, b) → cosine, for grading longer replies

    def preview(
        self, state: TutorState, text: str, signals: LearnerSignals | None = None, *,
        remote: bool = False,
    ) -> TurnReply:  # fmt: skip
        """The reply `respond` would give, leaving the state as it was."""
        return self.respond(copy.deepcopy(state), text, signals, remote=remote)

    def respond(
        self, state: TutorState, text: str, signals: LearnerSignals | None = None, *,
        remote: bool = False,
    ) -> TurnReply:  # fmt: skip
        """The reply to `text`, with the planner's action for it; updates `state`, the
        learner model included. signals: silence and face (default: the state's own).
        remote: an outside tier can take questions the curriculum does not cover."""
        text = " ".join(text.split())
        pending = state.pending_check is not None
        reply = self._reply(state, text, remote)
        lesson = state.lesson
        if reply.concept is not None:
            learner.focus(lesson, self.curriculum, reply.concept.id)
        lesson.observe(pedagogy.observation(reply, text, pending, signals or state.signals))
        decision = lesson.decide()
        concept_id = reply.concept.id if reply.concept is not None else None
        mastered = concept_id is not None and lesson.mastered(concept_id)
        reply = pedagogy.shaped(state, self.curriculum, reply, decision.action, text, mastered)
        mastery = None
        if concept_id is not None:
            mastery = learner.mastery(lesson, self.curriculum, concept_id)
        return replace(reply, mastery=mastery, decision=decision)

    def _reply(self, state: TutorState, text: str, remote: bool) -> TurnReply:
        if (computed := compute(text)) is not None:
            state.pending_check = None
            return TurnReply(computed.sentence, "arithmetic", intent="arithmetic")
        named = self.matcher.by_name(text)
        if (kind := social(text)) is not None and named is None and len(text.split()) <= 6:
            return TurnReply(SOCIAL_REPLIES[kind], "social", intent=kind.value)
        if state.pending_check is not None and not (named and is_question(text)):
            if acknowledgement(text):
                return self._reasked(state)
            if not self._no_answer(state, text):
                return self._graded(state, text)
            state.pending_check = None  # the learner asked instead: answered, not graded
        current = self.curriculum.concepts.get(state.concept_id or "")
        follow = follow_up(text)  # on the learner's own words: "sum it up" names no concept
        if current is not None and named is None and _refers_back(text):
            text = _resolved(text, current)  # "how far away is it" → "... is the Moon"
            named = self.matcher.by_name(text)
        if (
            current is not None
            and follow is not None
            and (named is None or named.concept.id == current.id)
        ):
            return self._follow_up(state, current, follow, text)
        kind = question_kind(text)
        concept = self._choose_concept(text, kind, named.concept if named else None, current)
        if concept is not None:
            return self._answer(state, concept, kind, text)
        if not is_question(text) and len(text.split()) < 12:
            return TurnReply(STATEMENT_REPLY, "social", intent="statement")
        if remote:
            return TurnReply(None, "remote", intent="outside")
        return TurnReply(ABSTAIN, "abstain", intent="outside")

    def _choose_concept(
        self, text: str, kind: Intent, named: Concept | None, current: Concept | None = None
    ) -> Concept | None:
        """The concept whose facets answer the question best.

        A concept named outright wins a "what is X" question. Otherwise the named concept,
        the conversation's current one and the three closest in meaning compete on their
        best facet sentence ("why do leaves change colour" names colour, but chlorophyll's
        autumn example answers it; "is it because we are closer to the Sun", asked about
        the seasons, names the Sun); one found only by meaning must be close on every
        count, or the tutor says it is not sure.
        """
        if named is not None and kind is Intent.DEFINE and self._pure_definition(text, named):
            return named
        candidates = {c.id: c for c in self.matcher.nearest(text, 3)}
        for known in (named, current):
            if known is not None:
                candidates[known.id] = known
        prefer = "misconception" if kind is Intent.YES_NO else None
        scored = {
            cid: self.picker.best(c, text, prefer=prefer, without=NOT_ANSWERS).similarity
            + (NAME_BONUS if c is named or c is current else 0.0)
            for cid, c in candidates.items()
        }
        if not scored:
            return None
        best = max(scored, key=scored.get)
        # a named concept keeps a small lead, except against the conversation's own concept
        lead = 0.0 if current is not None else NAMED_LEAD
        if named is not None and (best == named.id or scored[best] - scored[named.id] < lead):
            return named
        if current is not None and best == current.id and scored[best] >= ANSWER_SIMILARITY:
            return current
        if (
            scored[best] >= MEANING_SENTENCE_SIMILARITY
            and self.matcher.close(text, best)
            and self.matcher.coverage(candidates[best], text) >= MIN_COVERAGE
        ):  # found by meaning alone: it must also speak of the question's words
            return candidates[best]
        return named

    def _pure_definition(self, text: str, concept: Concept) -> bool:
        """ "What is photosynthesis?" asks for the definition; "what is an atom made of" or
        "what are platelets" (a part of blood) ask for one fact: the best sentence."""
        asked = set(normalise(text).split()) - DEFINE_WORDS
        name = set(normalise(concept.name).split())
        return all(  # a name ASR misspelled ("fotosynthesis") still names it
            word in name or any(similar_spelling(word, part) for part in name) for word in asked
        )

    def _answer(self, state: TutorState, concept: Concept, kind: Intent, text: str) -> TurnReply:
        """A question about a concept: the facet its kind wants, then the action's part."""
        state.move_to(concept)
        if kind in (Intent.EXAMPLE, Intent.WHAT_IF, Intent.MISCONCEPTION, Intent.SUMMARY):
            return self._follow_up(state, concept, kind, text)
        if kind is Intent.DEFINE and self._pure_definition(text, concept):
            main, facet = concept.definition, "definition"
        elif kind is Intent.WHY:
            # "why do I lean forward when a bus stops" is answered by one sentence (an
            # example, then the reason); a bare "why does it happen" by the explanation
            best = self.picker.best(concept, text, without=NOT_ANSWERS)
            if best.similarity >= WHY_SENTENCE_SIMILARITY:
                main, facet = self._said(concept, best, text, with_reason=True), best.sentence.facet
            elif self._off_topic(concept, text, best.similarity):
                return self._hedge(state, concept, kind)
            else:
                main, facet = concept.explanation, "explanation"
        else:
            prefer = "misconception" if kind is Intent.YES_NO else None
            best = self.picker.best(concept, text, prefer=prefer, without=NOT_ANSWERS)
            if (
                best.similarity < ANSWER_SIMILARITY
                or (asks_quantity(text) and not has_number(best.sentence.text))
                or self._off_topic(concept, text, best.similarity)
            ):
                return self._hedge(state, concept, kind)
            main, facet = self._said(concept, best, text), best.sentence.facet
        if facet == "misconception" and kind is Intent.YES_NO:
            main = f"That's a common mix-up. {main}"  # "do heavy things fall faster?"
        state.given.add(facet)
        return TurnReply(main, "facet", concept, facet, kind.value)

    def _said(
        self, concept: Concept, best: BestSentence, text: str, *, with_reason: bool = False
    ) -> str:
        """The best sentence as spoken; a check question's bare answer ("Four.") and, for a
        why, an example are followed by the sentence that gives the reason."""
        main = spoken(concept, best.sentence)
        if best.sentence.facet == "check" or (with_reason and best.sentence.facet == "example"):
            reason = self.picker.best(concept, text, without=NOT_REASONS | {"check"})
            main = f"{main} {spoken(concept, reason.sentence)}"
        return main

    def _off_topic(self, concept: Concept, text: str, similarity: float) -> bool:
        """The question is about something the concept does not speak of ("how do fish
        breathe" names breathing, but the lungs concept never mentions fish)."""
        return similarity < WHY_SENTENCE_SIMILARITY and (
            self.matcher.coverage(concept, text) < MIN_COVERAGE
        )

    def _hedge(self, state: TutorState, concept: Concept, kind: Intent) -> TurnReply:
        """Said as uncertain: what the tutor does know about the concept, and no more."""
        state.given.add("definition")
        said = (
            f"I'm not sure about that exactly. What I can tell you about {concept.name} "
            f"is this: {concept.definition}"
        )
        return TurnReply(said, "hedge", concept, "definition", kind.value)

    def _follow_up(
        self, state: TutorState, concept: Concept, intent: Intent, text: str
    ) -> TurnReply:
        state.move_to(concept)
        if intent is Intent.EXAMPLE:
            shown = sum(1 for key in state.given if key.startswith("example"))
            example = concept.examples[shown % len(concept.examples)]
            state.given.add(f"example{shown}")
            return TurnReply(example, "facet", concept, "example", intent.value)
        if intent is Intent.CONFUSED:
            state.confusion += 1
            if state.confusion == 1 and concept.simpler:
                said, facet = f"Let me put it another way. {concept.simpler}", "simpler"
            elif state.confusion <= 2:
                said = f"Here's a common mix-up. {concept.misconception} {concept.correction}"
                facet = "misconception"
            else:
                said, facet = f"In short: {concept.summary}", "summary"
            return TurnReply(said, "facet", concept, facet, intent.value)
        if intent is Intent.MISCONCEPTION:
            said = f"{concept.misconception} {concept.correction}"
            return TurnReply(said, "facet", concept, "misconception", intent.value)
        if intent is Intent.SUMMARY:
            return TurnReply(concept.summary, "facet", concept, "summary", intent.value)
        if intent is Intent.QUIZ:
            check = pedagogy.ask_check(state, concept)
            return TurnReply(check, "facet", concept, "check", intent.value, check=check)
        if intent is Intent.WHAT_IF:  # a definition or summary does not say what happens
            best = self.picker.best(concept, text, without=frozenset({"definition", "summary"}))
            if best.similarity >= WHY_SENTENCE_SIMILARITY:  # the facets say what happens
                said = self._said(concept, best, text)
                return TurnReply(said, "facet", concept, best.sentence.facet, intent.value)
            notes = (concept.definition, concept.explanation, *concept.examples, concept.correction)
            return TurnReply(None, "llm", concept, "what_if", intent.value, notes=notes)
        if intent is Intent.WHY and len(text.split()) > 3:  # "why do I lean forward when..."
            return self._answer(state, concept, Intent.WHY, text)
        if intent is Intent.WHY:
            state.given.add("explanation")
            return TurnReply(concept.explanation, "facet", concept, "explanation", intent.value)
        # MORE: the next facet not yet given
        for facet, said in (
            ("definition", concept.definition), ("explanation", concept.explanation),
            ("example0", concept.examples[0]), ("summary", concept.summary),
        ):  # fmt: skip
            if facet not in state.given:
                state.given.add(facet)
                return TurnReply(said, "facet", concept, facet.rstrip("0"), intent.value)
        check = pedagogy.ask_check(state, concept)
        said = f"That's the heart of it. Here's a question for you: {check}"
        return TurnReply(said, "facet", concept, "check", intent.value, check=check)

    def _no_answer(self, state: TutorState, text: str) -> bool:
        """Words that are not an answer to the pending check question: a follow-up ("give me
        an example", "I don't get it") or a question of the learner's own, unless it holds
        the answer outright ("do plants need sunlight?" to "what do plants need?")."""
        if follow_up(text) is not None:
            return True
        if not asks_back(text):
            return False
        concept_id, index = state.pending_check or ("", 0)
        check = self.curriculum[concept_id].checks[index]
        return grade(check, text, self.similarity) is not Grade.CORRECT

    def _reasked(self, state: TutorState) -> TurnReply:
        """The pending check question again, for a learner who only said "okay"."""
        concept_id, index = state.pending_check or ("", 0)
        concept = self.curriculum[concept_id]
        question = concept.checks[index].question
        said = f"Take your time. Here's the question again: {question}"
        return TurnReply(said, "facet", concept, "check", "answer", check=question)

    def _graded(self, state: TutorState, text: str) -> TurnReply:
        concept_id, index = state.pending_check or ("", 0)
        state.pending_check = None
        concept = self.curriculum[concept_id]
        check = concept.checks[index]
        result = grade(check, text, self.similarity)
        answer = check.accepted[0]
        said = {
            Grade.CORRECT: f"That's right! The answer is {answer}.",
            Grade.PARTLY: f"You're partly right. The full answer is {answer}.",
            Grade.WRONG: f"Not quite. The answer is {answer}.",
            Grade.NO_ANSWER: f"That's okay. The answer is {answer}.",
        }[result]
        return TurnReply(said, "grade", concept, "check", "answer", grade=result)
