"""Cross-entropy-method planning in latent space (model-predictive: replan every step).

Cost of an action sequence: the ensemble-mean L1 between its predicted final latents and
the goal's, minus β times the ensemble's disagreement (epistemic value: prefer futures the
model is unsure of, all else equal, since acting there teaches the most).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from planner.latent_dynamics import Ensemble


@dataclass(frozen=True)
class CEMConfig:
    horizon: int = 3
    samples: int = 64
    iterations: int = 3
    elites: int = 8
    epistemic_weight: float = 0.1
    initial_std: float = 0.8


def sequence_costs(
    ensemble: Ensemble, z: torch.Tensor, goal: torch.Tensor, actions: torch.Tensor, beta: float
) -> torch.Tensor:
    """(S,) cost per action sequence (S, H, 2)."""
    finals = ensemble.rollout(z, actions)  # (K, S, N, D)
    risk = (finals.mean(0) - goal).abs().mean((1, 2))
    disagreement = finals.std(0).mean((1, 2)) if finals.shape[0] > 1 else torch.zeros_like(risk)
    return risk - beta * disagreement


def cem_action(
    ensemble: Ensemble,
    z: torch.Tensor,
    goal: torch.Tensor,
    rng: np.random.Generator,
    config: CEMConfig = CEMConfig(),
) -> np.ndarray:
    """The first action of the best sequence found, in [-1, 1]²."""
    mean = np.zeros((config.horizon, 2))
    std = np.full((config.horizon, 2), config.initial_std)
    for _ in range(config.iterations):
        samples = np.clip(mean + std * rng.standard_normal((config.samples, *mean.shape)), -1, 1)
        samples[0] = mean  # keep the incumbent
        costs = sequence_costs(
            ensemble, z, goal, torch.from_numpy(samples).float(), config.epistemic_weight
        )
        elite = samples[np.argsort(costs.numpy())[: config.elites]]
        mean, std = elite.mean(0), elite.std(0) + 0.05
    return mean[0]
