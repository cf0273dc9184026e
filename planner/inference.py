"""Active inference as pure functions on numpy arrays, in pymdp's formulation.

States factorise (mean field); A[m] maps joint hidden states to observations of modality m;
B[f][:, :, u] moves factor f under action u. Expected free energy is scored as pymdp does,
as a negative EFE (bigger is better): G = utility + state information gain, with
utility = Σ_t Σ_m qo·ln softmax(C_m) and information gain = H[Q(o)] − E_Q(s)[H[P(o|s)]]
over the joint outcome of all modalities. The policy posterior is softmax(γ·G + ln E).
A salient factor restricts the information gain to what the observations say about that
factor alone (the others held at their beliefs): a planner then seeks only the evidence
its decisions rest on. Optional preferences over hidden states add Σ_f qs_f·ln softmax(C_f)
to the utility (the "risk over states" form of EFE, which pymdp's observation-only C lacks):
what a tutor wants is that the learner knows, not that a question happens to be answered.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

EPS = 1e-16


def log(x: np.ndarray) -> np.ndarray:
    return np.log(x + EPS)


def softmax(x: np.ndarray) -> np.ndarray:
    z = np.exp(x - x.max())
    return z / z.sum()


def joint(qs: Sequence[np.ndarray]) -> np.ndarray:
    """Outer product of the factor marginals: Q(s) as one tensor."""
    out = qs[0]
    for q in qs[1:]:
        out = np.multiply.outer(out, q)
    return out


def free_energy(qs, log_prior, log_likelihood=None) -> float:
    """Variational free energy of factorised beliefs (complexity minus accuracy)."""
    energy = sum(float(q @ (np.log(q + EPS) - lp)) for q, lp in zip(qs, log_prior, strict=True))
    if log_likelihood is not None:
        energy -= float(np.sum(log_likelihood * joint(qs)))
    return energy


def infer_states(
    A: Sequence[np.ndarray],
    obs: Sequence[int],
    prior: Sequence[np.ndarray],
    num_iter: int = 10,
    tolerance: float = 1e-3,
) -> list[np.ndarray]:
    """Posterior marginals over hidden factors by fixed-point iteration (pymdp's vanilla FPI:
    all factors updated in parallel from the previous sweep, stopping once free energy
    changes by less than `tolerance`)."""
    log_likelihood = log(np.prod([A_m[o] for A_m, o in zip(A, obs, strict=True)], axis=0))
    log_prior = [log(p) for p in prior]
    n = len(prior)
    qs = [np.full(len(p), 1.0 / len(p)) for p in prior]
    if n == 1:
        return [softmax(log_likelihood + log_prior[0])]
    previous, change, sweeps = free_energy(qs, log_prior), 1.0, 0
    while sweeps < num_iter and change >= tolerance:
        weighted = log_likelihood * joint(qs)
        qs = [
            softmax(np.einsum(weighted, list(range(n)), [f]) / qs[f] + log_prior[f])
            for f in range(n)
        ]
        energy = free_energy(qs, log_prior, log_likelihood)
        change, previous, sweeps = abs(previous - energy), energy, sweeps + 1
    return qs


@dataclass(frozen=True)
class Gate:
    """One factor leaves its first state only while another is in its first state, and at
    `leak` times the rate otherwise (a learner learns while attending). Under mean field the
    way out is scaled by the gating factor's belief."""

    factor: int
    by: int
    leak: float


def step(qs: Sequence[np.ndarray], B: Sequence[np.ndarray], action: int, gate: Gate | None = None):
    """Factor marginals one action on: each factor by its own B, a gated one as Gate says."""
    out = [B_f[:, :, action] @ q for B_f, q in zip(B, qs, strict=True)]
    if gate is not None:
        attending = qs[gate.by][0] + (1 - qs[gate.by][0]) * gate.leak
        b = B[gate.factor][:, :, action].copy()
        b[:, 0] *= attending  # the way out of the first state, scaled by attention;
        b[0, 0] += 1 - attending  # the rest stays there
        out[gate.factor] = b @ qs[gate.factor]
    return out


def expected_states(
    qs: Sequence[np.ndarray], B: Sequence[np.ndarray], policy: np.ndarray, gate: Gate | None = None
):
    """Predicted factor marginals after each step of a policy (shape [T, factors])."""
    out, current = [], list(qs)
    for actions in policy:
        current = step(current, B, int(actions[0]), gate)
        out.append(current)
    return out


def expected_obs(A: Sequence[np.ndarray], qs: Sequence[np.ndarray]) -> list[np.ndarray]:
    """Predicted observation marginals per modality."""
    q = joint(qs)
    axes = list(range(1, q.ndim + 1))
    return [np.tensordot(A_m, q, axes=(axes, list(range(q.ndim)))) for A_m in A]


def expected_utility(qo: Sequence[np.ndarray], C: Sequence[np.ndarray]) -> float:
    return float(sum(q @ log(softmax(c)) for q, c in zip(qo, C, strict=True)))


def state_utility(qs: Sequence[np.ndarray], state_prefs: Sequence[np.ndarray] | None) -> float:
    """Expected log preference of predicted states (0 without state preferences)."""
    if state_prefs is None:
        return 0.0
    return float(sum(q @ log(softmax(c)) for q, c in zip(qs, state_prefs, strict=True)))


def joint_outcomes(A: Sequence[np.ndarray]) -> np.ndarray:
    """P(o | s) for the joint outcome of all modalities, as a [states, outcomes] matrix."""
    per_state = A[0].reshape(A[0].shape[0], -1).T
    for A_m in A[1:]:
        cols = A_m.reshape(A_m.shape[0], -1).T
        per_state = (per_state[:, :, None] * cols[:, None, :]).reshape(per_state.shape[0], -1)
    return per_state


def factor_info_gain(outcomes: np.ndarray, qs: Sequence[np.ndarray], factor: int) -> float:
    """Expected information gain about one hidden factor from all modalities jointly, the
    other factors held at their beliefs: I(s_f; o) = H[Q(o)] − E_q(s_f) H[P(o | s_f)]."""
    q = joint(qs)
    moved = np.moveaxis(q, factor, 0).reshape(len(qs[factor]), -1)  # [s_f, rest]
    rest = moved / np.maximum(moved.sum(axis=1, keepdims=True), EPS)
    shape = [len(x) for x in qs]
    per_state = outcomes.reshape(*shape, -1)
    per_state = np.moveaxis(per_state, factor, 0).reshape(len(qs[factor]), rest.shape[1], -1)
    given = np.einsum("kr,kro->ko", rest, per_state)  # P(o | s_f)
    qo = qs[factor] @ given
    expected_entropy = -(qs[factor] @ np.sum(given * log(given), axis=1))
    return float(-(qo @ log(qo)) - expected_entropy)


def states_info_gain(A: Sequence[np.ndarray], qs: Sequence[np.ndarray]) -> float:
    """Expected information gain about hidden states from all modalities jointly."""
    q = joint(qs).ravel()
    per_state = joint_outcomes(A)
    keep = q > np.exp(-16)
    q, per_state = q[keep], per_state[keep]
    qo = q @ per_state
    expected_entropy = -(q @ np.sum(per_state * np.log(per_state + np.exp(-16)), axis=1))
    return float(-(qo @ log(qo)) - expected_entropy)


def negative_efe(
    qs, A, B, C, policy: np.ndarray, info_gain: bool = True, salient: int | None = None,
    state_prefs: Sequence[np.ndarray] | None = None, gate: Gate | None = None,
) -> float:  # fmt: skip
    """pymdp's G for one policy: utility plus information gain, summed over its steps.

    With info_gain=False only the pragmatic (utility) term counts: a greedy planner.
    salient: count only the information about this factor (None: about every factor).
    state_prefs: log preferences over each factor's states (None: observations only).
    gate: a factor whose transitions wait on another (None: every factor moves alone).
    """
    total = 0.0
    for qs_t in expected_states(qs, B, policy, gate):
        total += expected_utility(expected_obs(A, qs_t), C) + state_utility(qs_t, state_prefs)
        if info_gain and salient is None:
            total += states_info_gain(A, qs_t)
        elif info_gain:
            total += factor_info_gain(joint_outcomes(A), qs_t, salient)
    return total


def policy_posterior(
    qs, A, B, C, policies, gamma: float, E: np.ndarray | None = None, info_gain: bool = True,
    state_prefs: Sequence[np.ndarray] | None = None, gate: Gate | None = None,
):  # fmt: skip
    """(q_pi, G): softmax(γ·G + ln E) over policies, and each policy's G."""
    G = np.array(
        [negative_efe(qs, A, B, C, p, info_gain, None, state_prefs, gate) for p in policies]
    )
    prior = np.full(len(policies), 1.0 / len(policies)) if E is None else E
    return softmax(G * gamma + log(prior)), G


def all_policies(num_actions: int, horizon: int, num_factors: int) -> list[np.ndarray]:
    """Every action sequence of the given length, the same action on every factor."""
    return [
        np.tile(np.array(seq)[:, None], (1, num_factors))
        for seq in itertools.product(range(num_actions), repeat=horizon)
    ]


def pruned_sequences(
    scorer: PolicyScorer, qs, num_actions: int, horizon: int, keep_first: int,
    info_gain: bool = True,
) -> list[tuple[int, ...]]:  # fmt: skip
    """Action sequences whose first action is among the keep_first best by one-step G.

    Cuts the 7^H tree to keep_first·7^(H-1) sequences; a first action that already looks
    poor for one step is not extended.
    """
    if horizon <= 1 or keep_first >= num_actions:
        return list(itertools.product(range(num_actions), repeat=max(1, horizon)))
    one_step = [scorer.score(qs, (u,), info_gain) for u in range(num_actions)]
    best = sorted(int(u) for u in np.argsort(one_step)[::-1][:keep_first])
    return [
        (first, *rest)
        for first in best
        for rest in itertools.product(range(num_actions), repeat=horizon - 1)
    ]


def pruned_policies(qs, A, B, C, num_actions: int, horizon: int, keep_first: int):
    """pruned_sequences as pymdp-style policy arrays (the same action on every factor)."""
    sequences = pruned_sequences(PolicyScorer(A, B, C), qs, num_actions, horizon, keep_first)
    return [np.tile(np.array(seq)[:, None], (1, len(B))) for seq in sequences]


class PolicyScorer:
    """The same G as negative_efe, with everything that depends only on A and C computed once
    and predicted beliefs shared between policies with the same prefix (fast path for
    deciding live; negative_efe stays the reference the tests compare it with)."""

    def __init__(
        self, A: Sequence[np.ndarray], B: Sequence[np.ndarray], C: Sequence[np.ndarray],
        salient: int | None = None, state_prefs: Sequence[np.ndarray] | None = None,
        gate: Gate | None = None,
    ) -> None:  # fmt: skip
        self.B = B
        self.salient = salient
        self.gate = gate
        self.state_log_prefs = (
            None if state_prefs is None else [log(softmax(c)) for c in state_prefs]
        )
        flat = [A_m.reshape(A_m.shape[0], -1) for A_m in A]  # [o_m, joint states]
        self.marginals = flat
        self.log_prefs = [log(softmax(c)) for c in C]
        # P(joint outcome | state) as a [states, outcomes] matrix, and its entropy per state.
        per_state = joint_outcomes(A)
        self.outcomes = per_state
        self.entropy = -np.sum(per_state * np.log(per_state + np.exp(-16)), axis=1)
        self._memo: dict[tuple, tuple[list[np.ndarray], float]] = {}

    def _step_value(self, qs: Sequence[np.ndarray], info_gain: bool) -> float:
        q = joint(qs).ravel()
        value = sum(
            float((m @ q) @ lp) for m, lp in zip(self.marginals, self.log_prefs, strict=True)
        )
        if self.state_log_prefs is not None:
            value += sum(float(q @ lp) for q, lp in zip(qs, self.state_log_prefs, strict=True))
        if info_gain and self.salient is not None:
            value += factor_info_gain(self.outcomes, qs, self.salient)
        elif info_gain:
            keep = q > np.exp(-16)
            qo = q[keep] @ self.outcomes[keep]
            value += float(-(qo @ log(qo)) - q[keep] @ self.entropy[keep])
        return value

    def score(
        self, qs: Sequence[np.ndarray], actions: Sequence[int], info_gain: bool = True
    ) -> float:
        """G of applying `actions` in turn from beliefs qs (memoised by prefix)."""
        total, current = 0.0, list(qs)
        for depth in range(1, len(actions) + 1):
            key = (tuple(actions[:depth]), info_gain)
            if key not in self._memo:
                nxt = step(current, self.B, actions[depth - 1], self.gate)
                self._memo[key] = (nxt, self._step_value(nxt, info_gain))
            current, value = self._memo[key]
            total += value
        return total
