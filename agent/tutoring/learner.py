"""The learner model: how likely the learner has mastered each concept (knowledge tracing).

Bayesian knowledge tracing (Corbett and Anderson, 1995): a graded answer to a check question
updates the belief through guess and slip rates, and each chance to learn (an explanation,
an example, feedback on an answer) moves some of the unlearned mass to learned. A concept
never seen starts from its prerequisites: knowing them makes it likelier, not certain.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from agent.tutoring.curriculum import Curriculum
from agent.tutoring.grading import Grade

PRIOR = 0.2  # a concept nobody has taught or asked about yet
GUESS = 0.2  # right without knowing (short answers, yes/no questions)
SLIP = 0.1  # wrong although known
LEARN = 0.15  # a taught facet's chance to move the learner to mastery
MASTERED = 0.95  # mastery learning's usual bar


@dataclass
class LearnerModel:
    """P(mastered) per concept id; concepts not yet met are derived from prerequisites."""

    mastery: dict[str, float] = field(default_factory=dict)

    def of(self, curriculum: Curriculum, concept_id: str) -> float:
        if concept_id in self.mastery:
            return self.mastery[concept_id]
        needed = curriculum[concept_id].prerequisites
        if not needed:
            return PRIOR
        known = sum(self.of(curriculum, n) for n in needed) / len(needed)
        return PRIOR + (0.5 - PRIOR) * known  # prerequisites help, up to an even chance

    def answered(self, curriculum: Curriculum, concept_id: str, grade: Grade) -> float:
        """Update on a graded answer (then the feedback is a chance to learn)."""
        p = self.of(curriculum, concept_id)
        if grade is Grade.CORRECT:
            p = p * (1 - SLIP) / (p * (1 - SLIP) + (1 - p) * GUESS)
        elif grade is Grade.PARTLY:  # half the evidence of a right answer
            right = p * (1 - SLIP) / (p * (1 - SLIP) + (1 - p) * GUESS)
            wrong = p * SLIP / (p * SLIP + (1 - p) * (1 - GUESS))
            p = (right + wrong) / 2
        else:  # wrong, or no answer
            p = p * SLIP / (p * SLIP + (1 - p) * (1 - GUESS))
        self.mastery[concept_id] = self._learned(p)
        return self.mastery[concept_id]

    def taught(self, curriculum: Curriculum, concept_id: str) -> float:
        """A facet was explained: a chance to learn, no evidence either way."""
        self.mastery[concept_id] = self._learned(self.of(curriculum, concept_id))
        return self.mastery[concept_id]

    @staticmethod
    def _learned(p: float) -> float:
        return p + (1 - p) * LEARN
