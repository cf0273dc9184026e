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
import re
from dataclasses import replace

from agent.tutoring import learner, pedagogy
from agent.tutoring.arithmetic import compute
from agent.tutoring.choosing import NOT_ANSWERS, WHY_SENTENCE_SIMILARITY, ConceptChoice
from agent.tutoring.curriculum import Concept, Curriculum
from agent.tutoring.facets import ASKS_WHO, BestSentence, SentencePicker, spoken
from agent.tutoring.grading import Grade, grade
from agent.tutoring.intents import (
    Intent,
    acknowledgement,
    asks_back,
    asks_workings,
    follow_up,
    is_question,
    question_kind,
    social,
)
from agent.tutoring.matching import ConceptMatcher
from agent.tutoring.state import TurnReply, TutorState
from agent.tutoring.words import normalise, repair_question_words
from planner.observations import LearnerSignals

REFERS_BACK = {"it", "its", "that", "this", "they", "them", "those", "these", "there"}
NOT_REASONS = frozenset({"example", "summary"})
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


# "Why?", "Why is that?", "Hold on, why is that?", "How come?": a why with nothing of its own.
BARE_WHY = re.compile(
    r"^(?:(?:hold on|wait|ok|okay|but|and|so)\W+)*(?:why|how come)"
    r"(?: (?:is|was|does|did) (?:that|it|this))?(?: so)?\W*$"
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


def hedged(concept: Concept) -> str:
    """What the tutor says of a concept when its facets do not answer the question."""
    return (
        f"I'm not sure about that exactly. What I can tell you about {concept.name} "
        f"is this: {concept.definition}"
    )


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
        self.choice = ConceptChoice(curriculum, matcher, picker)

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
        text = repair_question_words(" ".join(text.split()))
        pending = state.pending_check is not None
        reply = self._not_again(state, self._reply(state, text, remote), text)
        if reply.mode == "facet" and reply.text:
            state.said.add(reply.text)
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
        if named is not None and named.how == "spelling":  # "what is gravitee"
            text = self.matcher.respelled(text, named)
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
        concept = self.choice.choose(text, kind, named.concept if named else None, current)
        if concept is not None:
            return self._answer(state, concept, kind, text)
        if not is_question(text) and len(text.split()) < 12:
            return TurnReply(STATEMENT_REPLY, "social", intent="statement")
        if remote:  # the controller weighs the remote tier against saying so
            return TurnReply(None, "remote", intent="outside", fallback=ABSTAIN)
        return TurnReply(ABSTAIN, "abstain", intent="outside")

    def _not_again(self, state: TutorState, reply: TurnReply, text: str) -> TurnReply:
        """A bare why ("why is that?", "but why?") whose answer the learner has already
        heard of this concept is not answered twice word for word: it gets the explanation
        if that has not been said, else the next facet not yet given (in the end, a check).
        Questions with words of their own keep their answer: "how is it measured" wants the
        sentence with the amperes, said before or not."""
        if reply.mode != "facet" or not BARE_WHY.match(text.lower()):
            return reply
        if reply.concept is None or reply.text not in state.said:
            return reply
        concept = reply.concept
        if concept.explanation not in state.said:
            state.given.add("explanation")
            return replace(reply, text=concept.explanation, facet="explanation")
        state.given.add(reply.facet or "definition")
        return replace(self._follow_up(state, concept, Intent.MORE, text), intent=reply.intent)

    def _answer(self, state: TutorState, concept: Concept, kind: Intent, text: str) -> TurnReply:
        """A question about a concept: the facet its kind wants, then the action's part."""
        state.move_to(concept)
        if kind in (Intent.EXAMPLE, Intent.WHAT_IF, Intent.MISCONCEPTION, Intent.SUMMARY):
            return self._follow_up(state, concept, kind, text)
        if kind is Intent.DEFINE and self.choice.pure_definition(text, concept):
            main, facet = concept.definition, "definition"
        elif kind is Intent.WHY:
            # "why do I lean forward when a bus stops" is answered by one sentence (an
            # example, then the reason); a bare "why does it happen" by the explanation
            best = self.picker.best(concept, text, without=NOT_ANSWERS)
            # a definition says what a thing is, not how it works ("how do magnets work")
            says_what = best.sentence.facet == "definition" and asks_workings(text)
            if best.score >= WHY_SENTENCE_SIMILARITY and not says_what:
                main, facet = self._said(concept, best, text, with_reason=True), best.sentence.facet
            elif self.choice.off_topic(concept, text, best.similarity):
                return self._hedge(state, concept, kind)
            else:
                main, facet = concept.explanation, "explanation"
        elif ASKS_WHO.search(normalise(text)):
            person = self.picker.person_sentence(concept)
            if person is None:
                return self._hedge(state, concept, kind)
            main, facet = person.text, person.facet
        else:
            prefer = "misconception" if kind is Intent.YES_NO else None
            best = self.picker.best(concept, text, prefer=prefer, without=NOT_ANSWERS)
            if not self.choice.answers(concept, best, text, kind):
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

    def _hedge(self, state: TutorState, concept: Concept, kind: Intent) -> TurnReply:
        """Said as uncertain: what the tutor does know about the concept, and no more."""
        state.given.add("definition")
        return TurnReply(hedged(concept), "hedge", concept, "definition", kind.value)

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
            return TurnReply(
                None, "llm", concept, "what_if", intent.value, notes=concept.facts,
                fallback=hedged(concept),
            )  # fmt: skip
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
