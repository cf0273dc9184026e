"""An action-conditioned predictor over frozen z-JEPA latents, as V-JEPA 2-AC plans with.

Given one tubelet step's latents (layer-normed encoder tokens) and the action taken during
it, predict the next step's latents. Several members trained from different seeds form an
ensemble: where they disagree, the model does not know, which is the planner's epistemic
signal (a single deterministic predictor has none).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from perception.layers import Transformer, sincos_grid
from perception.objectives import layer_normed
from perception.video import VideoEncoder, to_video_tensor


class ActionConditionedPredictor(nn.Module):
    def __init__(self, dim: int, grid: tuple[int, int], depth: int = 2, heads: int = 3):
        super().__init__()
        self.action = nn.Sequential(nn.Linear(2, dim), nn.GELU(), nn.Linear(dim, dim))
        self.register_buffer("pos", sincos_grid(dim, grid), persistent=False)
        self.body = Transformer(dim, depth, heads)
        self.out = nn.Linear(dim, dim)

    def forward(self, z: torch.Tensor, action: torch.Tensor) -> torch.Tensor:
        """z (B, N, D) layer-normed latents, action (B, 2) → next latents (B, N, D)."""
        y, _ = self.body(z + self.pos + self.action(action)[:, None])
        return layer_normed(z + self.out(y))


@dataclass
class Transitions:
    z: torch.Tensor  # (M, N, D)
    action: torch.Tensor  # (M, 2)
    z_next: torch.Tensor  # (M, N, D)


@torch.no_grad()
def encode_steps(encoder: VideoEncoder, frames: np.ndarray, batch: int = 256) -> torch.Tensor:
    """(M, 2, H, W, 3) uint8 tubelet steps → layer-normed latents (M, N, D), each step alone."""
    out = [
        encoder(to_video_tensor(torch.from_numpy(frames[i : i + batch])))[0]
        for i in range(0, len(frames), batch)
    ]
    return layer_normed(torch.cat(out))


class Ensemble(nn.Module):
    def __init__(self, members: list[ActionConditionedPredictor]) -> None:
        super().__init__()
        self.members = nn.ModuleList(members)

    @torch.no_grad()
    def rollout(self, z: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        """z (N, D), actions (S, H, 2) → each member's final latents, (K, S, N, D)."""
        finals = []
        for member in self.members:
            state = z.expand(actions.shape[0], -1, -1)
            for h in range(actions.shape[1]):
                state = member(state, actions[:, h])
            finals.append(state)
        return torch.stack(finals)


def train_ensemble(
    data: Transitions,
    grid: tuple[int, int],
    members: int = 3,
    steps: int = 2000,
    batch: int = 128,
    lr: float = 1e-3,
) -> Ensemble:
    """Each member sees its own bootstrap resample of the transitions and its own init."""
    trained = []
    n, dim = data.z.shape[0], data.z.shape[-1]
    for k in range(members):
        torch.manual_seed(1000 + k)
        rng = np.random.default_rng(k)
        boot = torch.from_numpy(rng.integers(0, n, n))
        model = ActionConditionedPredictor(dim, grid)
        optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01)
        for _ in tqdm(range(steps), desc=f"AC predictor {k + 1}/{members}", leave=False):
            rows = boot[torch.from_numpy(rng.integers(0, n, batch))]
            pred = model(data.z[rows], data.action[rows])
            loss = (pred - data.z_next[rows]).abs().mean()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        trained.append(model.eval())
    return Ensemble(trained)
