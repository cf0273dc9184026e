"""Simulated learners, to judge tutoring strategies without real students.

Each learner has a hidden knowledge level (0 none, 1 partial, 2 mastered), attention and
confusion, and their own rates: how fast they learn, how easily they drift, how often an
explanation confuses them. Learning only happens while they are engaged, and half as fast
while confused, so a tutor that ignores drifting or confusion teaches less. The planner
never sees these numbers: it only sees the observations the learner emits.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from planner.model import TutoringModel

LEARN = {"explain": 0.35, "example": 0.3, "check": 0.1, "hint": 0.2, "encourage": 0.02,
         "listen": 0.05, "summarise": 0.15}  # fmt: skip
ENGAGE = {"explain": 0.05, "example": 0.3, "check": 0.25, "hint": 0.15, "encourage": 0.7,
          "listen": 0.05, "summarise": 0.05}  # fmt: skip
CLARIFY = {"explain": 0.45, "example": 0.6, "check": 0.05, "hint": 0.4, "encourage": 0.0,
           "listen": 0.15, "summarise": 0.3}  # fmt: skip


@dataclass
class SimulatedLearner:
    knowledge: int
    engaged: bool
    confused: bool
    learn_rate: float
    drift: float
    confusability: float
    rng: np.random.Generator = field(repr=False)

    def respond(self, action: str) -> None:
        """The learner's hidden state after the tutor's action."""
        rng = self.rng
        gain = LEARN[action] * self.learn_rate * (0.5 if self.confused else 1.0)
        if self.engaged and self.knowledge < 2 and rng.random() < gain:
            self.knowledge += 1
        if self.confused and rng.random() < CLARIFY[action]:
            self.confused = False
        elif (
            not self.confused
            and action in ("explain", "summarise")
            and rng.random() < self.confusability
        ):
            self.confused = True
        if self.engaged and rng.random() < self.drift * (1 - ENGAGE[action]):
            self.engaged = False
        elif not self.engaged and rng.random() < ENGAGE[action]:
            self.engaged = True

    def observe(self, model: TutoringModel) -> list[int]:
        """What the tutor perceives: sampled from the model's own likelihood at the true state."""
        state = (self.knowledge, 0 if self.engaged else 1, 1 if self.confused else 0)
        return [int(self.rng.choice(A_m.shape[0], p=A_m[(slice(None), *state)])) for A_m in model.A]


def population(size: int, seed: int) -> list[SimulatedLearner]:
    """Learners with different prior knowledge and attention."""
    rng = np.random.default_rng(seed)
    learners = []
    for index in range(size):
        learners.append(
            SimulatedLearner(
                knowledge=int(rng.choice(3, p=[0.6, 0.35, 0.05])),
                engaged=bool(rng.random() < 0.75),
                confused=bool(rng.random() < 0.3),
                learn_rate=float(rng.uniform(0.5, 1.3)),
                drift=float(rng.uniform(0.05, 0.4)),
                confusability=float(rng.uniform(0.0, 0.3)),
                rng=np.random.default_rng(seed * 1000 + index),
            )
        )
    return learners
