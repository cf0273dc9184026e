"""Video encoder: a ViT over 2×16×16 tubelets (V-JEPA's patching), sizes tiny to huge.

Space is an additive sin-cos table over (row, column); time is rotary, so attention sees how
far apart two tubelets are, not where the stream started. Attention is frame-causal within a
window of `grid[0]` time steps: the model the streaming encoder reproduces chunk by chunk.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from perception.layers import Transformer, frame_causal_mask, rope_tables, sincos_grid
from perception.masks import gather_tokens
from perception.moe import MoEConfig

TUBELET = (2, 16, 16)


@dataclass(frozen=True)
class ViTConfig:
    dim: int
    depth: int
    heads: int
    mlp_ratio: float = 4.0


VIT_SIZES: dict[str, ViTConfig] = {
    "tiny": ViTConfig(96, 4, 3),
    "small": ViTConfig(384, 12, 6),
    "base": ViTConfig(768, 12, 12),
    "large": ViTConfig(1024, 24, 16),
    "huge": ViTConfig(1280, 32, 16),
}


def to_video_tensor(frames: torch.Tensor) -> torch.Tensor:
    """uint8 (B, T, H, W, 3) → float (B, 3, T, H, W) in [-1, 1]."""
    if frames.dtype != torch.uint8 or frames.dim() != 5 or frames.shape[-1] != 3:
        raise ValueError(f"expected uint8 frames (B, T, H, W, 3), got {tuple(frames.shape)}")
    return frames.permute(0, 4, 1, 2, 3).float().div(127.5).sub(1.0)


class VideoEncoder(nn.Module):
    def __init__(
        self, size: ViTConfig, frames: int, image: int, moe: MoEConfig | None = None
    ) -> None:
        super().__init__()
        t, p, _ = TUBELET
        if frames % t or image % p:
            raise ValueError(f"{frames} frames of {image}px do not tile into {TUBELET} tubelets")
        self.grid = (frames // t, image // p, image // p)
        self.window = self.grid[0]
        self.dim, self.heads = size.dim, size.heads
        self.tokens_per_step = self.grid[1] * self.grid[2]
        self.patch = nn.Conv3d(3, size.dim, kernel_size=TUBELET, stride=TUBELET)
        self.register_buffer("space_pos", sincos_grid(size.dim, self.grid[1:]), persistent=False)
        self.body = Transformer(size.dim, size.depth, size.heads, size.mlp_ratio, moe)

    @property
    def num_tokens(self) -> int:
        return self.grid[0] * self.tokens_per_step

    def token_times(self, steps: int, first: int = 0) -> torch.Tensor:
        """Time index of each token for `steps` tubelet steps starting at `first`."""
        times = torch.arange(first, first + steps, device=self.space_pos.device)
        return times.repeat_interleave(self.tokens_per_step)

    def embed(self, video: torch.Tensor) -> torch.Tensor:
        """(B, 3, T, H, W) → patch tokens with spatial positions, (B, N, D)."""
        x = self.patch(video).flatten(2).transpose(1, 2)
        steps = x.shape[1] // self.tokens_per_step
        return x + self.space_pos.repeat(steps, 1)

    def rope(self, times: torch.Tensor):
        return rope_tables(times, self.dim // self.heads)

    def forward(
        self, video: torch.Tensor, keep: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Encode (B, 3, T, H, W) with any T divisible by 2; with `keep` (B, n) only those
        tokens (the context). Returns (tokens, MoE loss)."""
        x = self.embed(video)
        times = self.token_times(x.shape[1] // self.tokens_per_step)
        if keep is None:
            return self.body(x, frame_causal_mask(times, self.window), rope=self.rope(times))
        x, times = gather_tokens(x, keep), times[keep]  # per-sample masks: add a head axis
        mask = frame_causal_mask(times, self.window)[:, None]
        cos, sin = self.rope(times)
        return self.body(x, mask, rope=(cos[:, None], sin[:, None]))
