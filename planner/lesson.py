"""The planner across a lesson: one knowledge belief per concept, one learner.

The tutoring POMDP (planner/model.py) has a single knowledge factor: the concept being taught.
A lesson moves between concepts, so this keeps each concept's belief (P(learned)) and its
learned knowledge transitions, and swaps them in when the conversation turns to it;
engagement and confusion belong to the learner and carry over. A concept not yet met starts
from what its prerequisites say (the caller's prior), and learns more slowly while they are
shaky (its readiness). The swapped-in belief is not moved by an action that was spent on
another concept; one swapped in after observing gets the next action.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from planner.model import (
    KNOWLEDGE,
    LEARNED,
    TutoringModel,
    knowledge_transition,
    named_beliefs,
)
from planner.tutor_planner import PlanDecision, TutorPlanner

PRIOR = 0.2  # P(learned) of a concept with no prerequisites that nobody has taught yet
READY_FLOOR = 0.3  # how fast a concept is learned while its prerequisites are unknown


def starting_point(prerequisites: list[float]) -> tuple[float, float]:
    """(prior, readiness) of a concept not yet met, from its prerequisites' P(learned):
    knowing them makes it likelier known (up to an even chance) and quicker to learn."""
    if not prerequisites:
        return PRIOR, 1.0
    known = sum(prerequisites) / len(prerequisites)
    return PRIOR + (0.5 - PRIOR) * known, READY_FLOOR + (1 - READY_FLOOR) * known


@dataclass
class ConceptBelief:
    """What the planner holds about one concept between its turns."""

    knowledge: np.ndarray  # [P(unlearned), P(learned)]
    transitions: np.ndarray  # Dirichlet counts of its knowledge B [next, prev, action]


class LessonPlanner:
    """EFE decisions about whichever concept the learner is on."""

    def __init__(
        self,
        model: TutoringModel,
        *,
        seed: int = 0,
        concentration: float = 20.0,
        sample: bool = False,
        info_gain: bool = True,
    ) -> None:
        self.planner = TutorPlanner(
            model, seed=seed, concentration=concentration, sample=sample, info_gain=info_gain
        )
        self.concentration = concentration
        self.concepts: dict[str, ConceptBelief] = {}
        self.concept_id: str | None = None
        self.last: PlanDecision | None = None

    @property
    def _forget(self) -> float:
        """The model's per-turn forgetting (P(learned → unlearned)), read from its B."""
        return float(self.model.B[KNOWLEDGE][0, LEARNED, 0])

    @property
    def model(self) -> TutoringModel:
        return self.planner.model

    def focus(self, concept_id: str, prior: float, readiness: float = 1.0) -> None:
        """Teach `concept_id` from now on. prior: P(learned) if it is new; readiness (0..1):
        how well its prerequisites are known, which scales how fast it can be learned."""
        if concept_id == self.concept_id:
            return
        planner = self.planner
        if self.concept_id is not None:
            old = self.concepts[self.concept_id]
            old.knowledge = planner.qs[KNOWLEDGE].copy()
            if planner.acting and KNOWLEDGE not in planner.held:  # it got the last action
                old.knowledge = planner.prior()[KNOWLEDGE]
            old.transitions = planner.pB[KNOWLEDGE].copy()
        if concept_id not in self.concepts:
            learn = self.model.learn * float(np.clip(readiness, 0.05, 1.0))
            self.concepts[concept_id] = ConceptBelief(
                knowledge=np.array([1 - prior, prior]),
                transitions=knowledge_transition(learn, self._forget) * self.concentration,
            )
        belief = self.concepts[concept_id]
        planner.qs[KNOWLEDGE] = belief.knowledge.copy()
        planner.pB[KNOWLEDGE] = belief.transitions.copy()
        planner.held.add(KNOWLEDGE)
        self.concept_id = concept_id

    def mastery(self, concept_id: str) -> float | None:
        """P(learned) of a concept, or None if the lesson has not met it."""
        if concept_id == self.concept_id:
            return float(self.planner.qs[KNOWLEDGE][LEARNED])
        belief = self.concepts.get(concept_id)
        return None if belief is None else float(belief.knowledge[LEARNED])

    def mastered(self, concept_id: str) -> bool:
        p = self.mastery(concept_id)
        return p is not None and p >= self.model.mastered

    def observe(self, levels: dict[str, str]) -> None:
        """This turn's observation, by modality name (planner/model.py MODALITIES)."""
        self.planner.observe(self.model.observation(**levels))
        if self.concept_id is not None:
            self.concepts[self.concept_id].knowledge = self.planner.qs[KNOWLEDGE].copy()

    def decide(self) -> PlanDecision:
        self.last = self.planner.decide()
        return self.last

    def preview(self, levels: dict[str, str]) -> PlanDecision:
        """The decision observe(levels) then decide() would make, changing nothing."""
        return self.planner.preview(self.model.observation(**levels))

    def choose(self, action: str) -> None:
        """Act on an action chosen elsewhere (a fixed script, a comparison): beliefs then
        move by it as they would by the planner's own choice."""
        self.planner.acted(self.model.actions.index(action))

    def beliefs(self) -> dict[str, dict[str, float]]:
        return named_beliefs(self.planner.qs)
