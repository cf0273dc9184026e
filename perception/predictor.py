"""The narrow predictor: context tokens plus mask tokens at the target positions in, predicted
target latents out. Positions (and, for video, the camera's pans) come in already embedded,
so one class serves video, audio and point clouds."""

from __future__ import annotations

import torch
from torch import nn

from perception.layers import Transformer
from perception.video import ViTConfig


class Predictor(nn.Module):
    def __init__(self, encoder_dim: int, size: ViTConfig) -> None:
        super().__init__()
        self.dim = size.dim
        self.embed = nn.Linear(encoder_dim, size.dim)
        self.mask_token = nn.Parameter(torch.zeros(1, 1, size.dim))
        nn.init.trunc_normal_(self.mask_token, std=0.02)
        self.body = Transformer(size.dim, size.depth, size.heads, size.mlp_ratio)
        self.out = nn.Linear(size.dim, encoder_dim)

    def forward(
        self, context: torch.Tensor, context_pos: torch.Tensor, target_pos: torch.Tensor
    ) -> torch.Tensor:
        """context (B, Nc, De), positions (B, N·, Dp) → predictions (B, Nt, De)."""
        targets = self.mask_token.expand(context.shape[0], target_pos.shape[1], -1) + target_pos
        x = torch.cat([self.embed(context) + context_pos, targets], dim=1)
        y, _ = self.body(x)
        return self.out(y[:, context.shape[1] :])
