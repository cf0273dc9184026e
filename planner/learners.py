"""Simulated learners, to judge tutoring strategies without real students.

Knowledge tracing learners, not the planner's own model: each concept is learned or not;
each learner has their own guess and slip rates, their own speed and a taste for some kinds
of teaching over others, all drawn from a population. A concept whose prerequisites are not
learned is learned far more slowly. Learning happens only while the learner is engaged, and
half as fast while confused; learners drift off and come back; a check question is answered
from what they really know. The tutor only ever sees what they say and show: a graded
answer, whether they asked something, how long they were quiet, whether a face is there.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

ACTIONS = ("explain", "example", "check", "hint", "summarise", "encourage", "pause")
# Population means: chance per turn that a ready, engaged, clear learner learns the concept.
LEARN = {"explain": 0.25, "example": 0.25, "check": 0.1, "hint": 0.15, "summarise": 0.1,
         "encourage": 0.0, "pause": 0.0}  # fmt: skip
ENGAGE = {"explain": 0.05, "example": 0.3, "check": 0.3, "hint": 0.15, "summarise": 0.05,
          "encourage": 0.7, "pause": 0.1}  # fmt: skip
CLARIFY = {"explain": 0.4, "example": 0.6, "check": 0.05, "hint": 0.4, "summarise": 0.3,
           "encourage": 0.0, "pause": 0.15}  # fmt: skip
NOT_READY = 0.25  # learning speed while a prerequisite is unlearned


@dataclass
class KTLearner:
    """One learner over a sequence of concepts (index order respects prerequisites)."""

    known: list[bool]
    prerequisites: list[list[int]]
    guess: float
    slip: float
    speed: list[float]  # per concept: multiplies LEARN
    taste: dict[str, float]  # per action: this learner's response to it
    drift: float
    confusability: float
    engaged: bool = True
    confused: bool = False
    rng: np.random.Generator = field(default_factory=np.random.default_rng, repr=False)

    def respond(self, concept: int, action: str) -> None:
        """The learner's hidden state after the tutor's action on `concept`."""
        rng = self.rng
        ready = all(self.known[p] for p in self.prerequisites[concept])
        gain = LEARN[action] * self.taste[action] * self.speed[concept]
        gain *= (1.0 if ready else NOT_READY) * (0.5 if self.confused else 1.0)
        if self.engaged and not self.known[concept] and rng.random() < min(gain, 0.95):
            self.known[concept] = True
        if self.confused and rng.random() < CLARIFY[action]:
            self.confused = False
        elif action in ("explain", "summarise") and rng.random() < self.confusability:
            self.confused = True
        if self.engaged and rng.random() < self.drift * (1 - ENGAGE[action]):
            self.engaged = False
        elif not self.engaged and rng.random() < ENGAGE[action]:
            self.engaged = True

    def observe(self, concept: int, asked: bool) -> dict[str, str]:
        """What the tutor perceives after its turn: a graded answer if it asked a check
        question (from what the learner really knows), and the learner's signals."""
        rng = self.rng
        answer = "unasked"
        if asked:
            if not self.engaged and rng.random() < 0.6:
                answer = "none"
            elif self.known[concept]:
                answer = "correct" if rng.random() > self.slip else "wrong"
            else:
                answer = "correct" if rng.random() < self.guess else "wrong"
            if answer == "wrong" and rng.random() < 0.3:
                answer = "partly"
        p_question = 0.5 if self.confused else 0.15
        if self.engaged:
            silence = rng.choice(["short", "medium", "long"], p=[0.6, 0.3, 0.1])
        else:
            silence = rng.choice(["short", "medium", "long"], p=[0.15, 0.35, 0.5])
        face = "present" if rng.random() < (0.95 if self.engaged else 0.6) else "absent"
        return {
            "answer": answer,
            "question": "yes" if rng.random() < p_question else "no",
            "silence": str(silence),
            "face": face,
        }


def population(size: int, prerequisites: list[list[int]], seed: int) -> list[KTLearner]:
    """Learners with different speeds, guess and slip rates, tastes and attention."""
    rng = np.random.default_rng(seed)
    learners = []
    for index in range(size):
        concepts = len(prerequisites)
        learners.append(
            KTLearner(
                known=[bool(rng.random() < 0.15) for _ in range(concepts)],
                prerequisites=prerequisites,
                guess=float(rng.uniform(0.05, 0.35)),
                slip=float(rng.uniform(0.02, 0.2)),
                speed=[float(s) for s in rng.lognormal(0.0, 0.6, concepts)],
                taste={a: float(rng.uniform(0.5, 1.5)) for a in ACTIONS},
                drift=float(rng.uniform(0.02, 0.25)),
                confusability=float(rng.uniform(0.0, 0.25)),
                engaged=bool(rng.random() < 0.85),
                rng=np.random.default_rng(seed * 1000 + index),
            )
        )
    return learners
