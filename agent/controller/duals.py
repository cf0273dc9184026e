"""Dual variables for the latency and compute constraints, updated from what turns cost.

λ ← max(0, λ + η·(measured − target)/scale): a turn over target raises the price of latency
(or compute) and the next decisions get cheaper; turns under target let it fall back to zero.
"""

from __future__ import annotations

from dataclasses import dataclass


def dual_step(
    lam: float, measured: float, target: float, scale: float, eta: float,
    ceiling: float = float("inf"),
) -> float:  # fmt: skip
    """One projected sub-gradient step on a dual variable, kept within [0, ceiling].

    The ceiling matters when no decision can meet the budget (a host overloaded by other
    sessions): an unbounded λ would keep climbing and take as many turns to come back down
    once the load is gone.
    """
    if scale <= 0:
        raise ValueError("scale must be positive")
    return min(ceiling, max(0.0, lam + eta * (measured - target) / scale))


@dataclass
class Duals:
    latency: float = 1.0  # λ_ℓ, per budget-sized unit of predicted latency
    compute: float = 0.0  # λ_c, per compute-budget-sized unit of generated tokens
