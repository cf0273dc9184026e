"""A latency model learned online: recursive least squares with forgetting, one per tier.

commit_to_audio grows roughly linearly in thinking tokens and critique rounds, and every term
grows with how many sessions share the host; forgetting lets the model follow a host that
slows down (another tenant, thermal throttling) within a few dozen turns. Pure functions on a
small dataclass, like pymdp's, so the maths is testable without a service around it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from agent.controller.decision import ComputeDecision, TurnFeatures

N_FEATURES = 6


def features(decision: ComputeDecision, turn: TurnFeatures) -> np.ndarray:
    """Regressors: 1, thinking (per 100 tokens), critique rounds, experts, and load terms."""
    load = turn.sessions - 1
    think = decision.think_tokens / 100.0
    rounds = float(decision.critique_rounds)
    return np.array(
        [1.0, think, rounds, decision.experts_k / 8.0, load, load * (1.0 + think + rounds)]
    )


@dataclass
class CostModel:
    """θ (ms per regressor), its covariance P and the residual variance, in ms²."""

    theta: np.ndarray
    covariance: np.ndarray
    residual_var: float
    observations: int = 0
    forget: float = 0.97
    history: list[float] = field(default_factory=list, repr=False)


def prior_model(
    base_ms: float, per_100_think_ms: float, per_critique_ms: float, forget: float = 0.97
) -> CostModel:
    """A model that already believes the configured guesses, loosely (P = 10⁴·I)."""
    theta = np.array([base_ms, per_100_think_ms, per_critique_ms, 0.0, base_ms, base_ms])
    return CostModel(theta, np.eye(N_FEATURES) * 1e4, (0.3 * base_ms) ** 2, forget=forget)


def predict(model: CostModel, x: np.ndarray) -> tuple[float, float]:
    """(mean, standard deviation) of the latency in ms for regressors x."""
    mean = float(model.theta @ x)
    spread = model.residual_var * (1.0 + float(x @ model.covariance @ x) / 1e4)
    return max(mean, 0.0), float(np.sqrt(max(spread, 0.0)))


def update(model: CostModel, x: np.ndarray, latency_ms: float) -> CostModel:
    """One RLS step with forgetting factor model.forget (returns a new model)."""
    lam = model.forget
    p_x = model.covariance @ x
    gain = p_x / (lam + float(x @ p_x))
    error = latency_ms - float(model.theta @ x)
    theta = model.theta + gain * error
    covariance = (model.covariance - np.outer(gain, p_x)) / lam
    covariance = np.clip((covariance + covariance.T) / 2.0, -1e6, 1e6)
    residual_var = lam * model.residual_var + (1.0 - lam) * error**2
    return CostModel(theta, covariance, residual_var, model.observations + 1, lam)
