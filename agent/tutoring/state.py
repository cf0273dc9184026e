"""What one conversation keeps between turns, and what one turn replies.

TutorState is the session's side of the turn (agent/tutoring/turn.py): the concept under
discussion, what was said of it, a check question awaiting its answer, and the planner's
lesson (the learner model: its beliefs per concept).
The speed work keeps it whole: it lives beside the prompts, not in them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from agent.tutoring.curriculum import Concept
from agent.tutoring.grading import Grade
from planner.lesson import LessonPlanner
from planner.model import default_model
from planner.observations import LearnerSignals
from planner.tutor_planner import PlanDecision


@dataclass
class TutorState:
    """What one conversation has covered: its concept, what was said of it, a pending check."""

    concept_id: str | None = None
    given: set[str] = field(default_factory=set)  # facet keys said of the current concept
    pending_check: tuple[str, int] | None = None  # (concept id, check index)
    confusion: int = 0  # "I don't get it"s on the current concept
    asked: dict[str, set[int]] = field(default_factory=dict)  # checks asked per concept
    lesson: LessonPlanner = field(default_factory=lambda: LessonPlanner(default_model()))
    signals: LearnerSignals = field(default_factory=LearnerSignals)  # for the next turn
    said: set[str] = field(default_factory=set)  # curriculum replies said of the concept

    def move_to(self, concept: Concept) -> None:
        if concept.id != self.concept_id:
            self.concept_id, self.given, self.confusion = concept.id, set(), 0
            self.said = set()


@dataclass(frozen=True)
class TurnReply:
    """What the turn says and why; `text` None means a model writes it (mode llm/remote)."""

    text: str | None
    mode: str  # arithmetic, social, grade, facet, hedge, llm, remote, abstain
    concept: Concept | None = None
    facet: str | None = None
    intent: str | None = None
    action: str | None = None
    grade: Grade | None = None
    check: str | None = None  # a check question this reply asks
    notes: tuple[str, ...] = ()  # facets a model-written reply is grounded in
    mastery: float | None = None  # the learner model's P(mastered) of the concept, after
    decision: PlanDecision | None = None  # the planner's, for the avatar's gesture and the logs
    main: str | None = None  # the reply before the planner's action added its part
    fallback: str | None = None  # said instead when no model writes a model's reply

    @property
    def grounded(self) -> bool:
        return self.text is not None

    def as_fields(self) -> dict:
        """For the client's `teaching` event and MCP's `ask`."""
        return {
            "concept": self.concept.id if self.concept else None,
            "concept_name": self.concept.name if self.concept else None,
            "subject": self.concept.subject if self.concept else None,
            "facet": self.facet,
            "mode": self.mode,
            "intent": self.intent,
            "action": self.action,
            "grade": self.grade.value if self.grade else None,
            "check": self.check,
            "mastery": None if self.mastery is None else round(self.mastery, 3),
            "main": self.main if self.main is not None else self.text,
        }
