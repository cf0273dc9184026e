"""The tutoring planner for one session: beliefs, decisions and within-session learning."""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np

from planner.inference import (
    PolicyScorer,
    infer_states,
    joint,
    log,
    pruned_sequences,
    softmax,
    step,
)
from planner.model import TutoringModel, named_beliefs

QUESTION_ACTION = "explain"  # what the planner chooses for a learner's question (prompts
# are read ahead with its instruction)


@dataclass
class PlanDecision:
    """What the tutor does this turn, and why (for the client and the logs)."""

    action: str
    gesture: str
    policy_probability: float
    action_probabilities: dict[str, float]
    beliefs: dict[str, dict[str, float]]


class TutorPlanner:
    """Expected-free-energy choice of the tutor's next action, learning A and B as it goes.

    Dirichlet counts start at the model's arrays times `concentration`; each observed turn
    adds the posterior-weighted outer products (pymdp's update rule), so a learner who
    answers differently from the prior model soon gets a model of their own.
    """

    def __init__(
        self,
        model: TutoringModel,
        *,
        seed: int = 0,
        concentration: float = 20.0,
        learning_rate: float = 1.0,
        sample: bool = False,
        info_gain: bool = True,
    ) -> None:
        """info_gain=False scores only the pragmatic term: a greedy planner, for comparison."""
        self.model = model
        self.qs = [d.copy() for d in model.D]
        self.pA = [a * concentration for a in model.A]
        self.pB = [b * concentration for b in model.B]
        self.learning_rate = learning_rate
        self.sample = sample
        self.info_gain = info_gain
        self.held: set[int] = set()  # factors the last action does not move (planner/lesson.py)
        self.acting = False  # an action was taken that no observation has followed yet
        self._rng = np.random.default_rng(seed)
        self.last_action: int | None = None
        self._qs_before: list[np.ndarray] | None = None

    @property
    def A(self) -> list[np.ndarray]:
        return [p / p.sum(axis=0, keepdims=True) for p in self.pA]

    @property
    def B(self) -> list[np.ndarray]:
        return [p / p.sum(axis=0, keepdims=True) for p in self.pB]

    def prior(self) -> list[np.ndarray]:
        """Belief before this turn's observation: the last posterior moved by the last action."""
        if self.last_action is None:
            return [q.copy() for q in self.qs]
        moved = step(self.qs, self.B, self.last_action, self.model.gate)
        return [q.copy() if f in self.held else moved[f] for f, q in enumerate(self.qs)]

    def preview(self, obs: list[int]) -> PlanDecision:
        """The decision observe(obs) then decide() would make, leaving this planner as it
        was (the LLM begins an answer on a provisional transcript with its hint)."""
        trial = copy.copy(self)
        trial.qs = [q.copy() for q in self.qs]
        trial.pA = [p.copy() for p in self.pA]
        trial.pB = [p.copy() for p in self.pB]
        trial._rng = copy.deepcopy(self._rng)  # a sampling planner draws the same
        trial.observe(obs)
        return trial.decide()

    def observe(self, obs: list[int]) -> list[np.ndarray]:
        """Update beliefs from this turn's observation and learn A (and B) from it."""
        self._qs_before = self.qs
        self.qs = infer_states(self.A, obs, self.prior())
        self._learn(obs)
        self.held, self.acting = set(), False
        return self.qs

    def _learn(self, obs: list[int]) -> None:
        q = joint(self.qs)
        for m, o in enumerate(obs):
            self.pA[m][o] += self.learning_rate * q
        if self.last_action is not None and self._qs_before is not None:
            for f, (now, before) in enumerate(zip(self.qs, self._qs_before, strict=True)):
                if f in self.held:
                    continue  # the belief was swapped, not moved by the action
                self.pB[f][:, :, self.last_action] += self.learning_rate * np.outer(now, before)

    def acted(self, action: int) -> None:
        """The action taken this turn, when it was not this planner's choice."""
        self.last_action = action
        self.held, self.acting = set(), True

    def decide(self) -> PlanDecision:
        """Score pruned policies by expected free energy; act on the first step."""
        model, A, B = self.model, self.A, self.B
        # beliefs and A change every turn, so the scorer is built per decision
        scorer = PolicyScorer(A, B, model.C, model.salient, model.state_prefs, model.gate)
        sequences = pruned_sequences(
            scorer, self.qs, len(model.actions), model.horizon, model.keep_first, self.info_gain
        )
        G = np.array([scorer.score(self.qs, seq, self.info_gain) for seq in sequences])
        habits = np.array([model.habits[seq[0]] for seq in sequences])
        q_pi = softmax(G * model.gamma + log(habits / habits.sum()))
        policies = [np.array(seq)[:, None] for seq in sequences]
        per_action = np.zeros(len(model.actions))
        for p, prob in zip(policies, q_pi, strict=True):
            per_action[int(p[0, 0])] += prob
        if self.sample:
            chosen = int(self._rng.choice(len(per_action), p=per_action / per_action.sum()))
        else:
            chosen = int(np.argmax(per_action))
        self.acted(chosen)
        name = model.actions[chosen]
        return PlanDecision(
            action=name,
            gesture=model.gestures.get(name, "nod"),
            policy_probability=float(q_pi.max()),
            action_probabilities={
                a: round(float(p), 4) for a, p in zip(model.actions, per_action, strict=True)
            },
            beliefs=named_beliefs(self.qs),
        )
