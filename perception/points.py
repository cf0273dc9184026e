"""Point-cloud encoder in the Point-JEPA manner: farthest-point centres, k-nearest-neighbour
patches embedded by a small PointNet, centres ordered into a chain so that contiguous spans
of tokens are contiguous in space (what the 1D span masks need)."""

from __future__ import annotations

import torch
from torch import nn

from perception.layers import Transformer
from perception.masks import gather_tokens
from perception.moe import MoEConfig
from perception.video import ViTConfig


def farthest_points(xyz: torch.Tensor, count: int) -> torch.Tensor:
    """(B, P, 3) → (B, count) indices, greedy farthest-point sampling from point 0."""
    b, p, _ = xyz.shape
    chosen = torch.zeros(b, count, dtype=torch.long, device=xyz.device)
    dist = torch.full((b, p), float("inf"), device=xyz.device)
    last = torch.zeros(b, dtype=torch.long, device=xyz.device)
    rows = torch.arange(b, device=xyz.device)
    for i in range(count):
        chosen[:, i] = last
        d = (xyz - xyz[rows, last][:, None]).pow(2).sum(-1)
        dist = torch.minimum(dist, d)
        last = dist.argmax(-1)
    return chosen


def chain_order(centres: torch.Tensor) -> torch.Tensor:
    """(B, G, 3) → (B, G) order visiting centres by nearest unvisited neighbour."""
    b, g, _ = centres.shape
    order = torch.zeros(b, g, dtype=torch.long, device=centres.device)
    dist = torch.cdist(centres, centres)
    visited = torch.zeros(b, g, dtype=torch.bool, device=centres.device)
    rows = torch.arange(b, device=centres.device)
    current = torch.zeros(b, dtype=torch.long, device=centres.device)
    for i in range(g):
        order[:, i] = current
        visited[rows, current] = True
        d = dist[rows, current].masked_fill(visited, float("inf"))
        current = d.argmin(-1)
    return order


class PointEncoder(nn.Module):
    def __init__(
        self, size: ViTConfig, groups: int = 16, group_size: int = 16, moe: MoEConfig | None = None
    ) -> None:
        super().__init__()
        self.groups, self.group_size, self.dim = groups, group_size, size.dim
        self.local = nn.Sequential(nn.Linear(3, 64), nn.GELU(), nn.Linear(64, size.dim))
        self.position = nn.Sequential(nn.Linear(3, 64), nn.GELU(), nn.Linear(64, size.dim))
        self.body = Transformer(size.dim, size.depth, size.heads, size.mlp_ratio, moe)

    @property
    def num_tokens(self) -> int:
        return self.groups

    def tokenize(self, xyz: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, P, 3) → (patch embeddings (B, G, D), ordered centres (B, G, 3))."""
        idx = farthest_points(xyz, self.groups)
        centres = gather_tokens(xyz, idx)
        centres = gather_tokens(centres, chain_order(centres))
        near = torch.cdist(centres, xyz).topk(self.group_size, largest=False).indices  # (B, G, K)
        b = xyz.shape[0]
        patches = xyz[torch.arange(b)[:, None, None], near] - centres[:, :, None, :]
        return self.local(patches * 10.0).max(dim=2).values, centres

    def forward(self, xyz: torch.Tensor, keep: torch.Tensor | None = None):
        tokens, centres = self.tokenize(xyz)
        x = tokens + self.position(centres)
        if keep is not None:
            x = gather_tokens(x, keep)
        out, aux = self.body(x)
        return out, aux

    def positions(self, xyz: torch.Tensor) -> torch.Tensor:
        """The ordered patch centres (B, G, 3), for the predictor's target positions."""
        return self.tokenize(xyz)[1]
