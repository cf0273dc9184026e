"""Transformer parts shared by every z-JEPA model: attention with a key/value cache, blocks,
and fixed sin-cos position tables."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from perception.moe import MoEConfig, MoEFeedForward


@dataclass
class KVCache:
    """Keys and values seen so far, one entry per block, for chunk-by-chunk encoding."""

    keys: list[torch.Tensor | None] = field(default_factory=list)
    values: list[torch.Tensor | None] = field(default_factory=list)
    gates: list[torch.Tensor | None] = field(default_factory=list)

    def ensure(self, blocks: int) -> None:
        while len(self.keys) < blocks:
            self.keys.append(None)
            self.values.append(None)
            self.gates.append(None)

    def keep_last(self, tokens: int) -> None:
        """Forget all but the newest `tokens` keys and values (a sliding attention window)."""
        self.keys = [None if k is None else k[:, :, -tokens:] for k in self.keys]
        self.values = [None if v is None else v[:, :, -tokens:] for v in self.values]

    @property
    def length(self) -> int:
        return 0 if not self.keys or self.keys[0] is None else int(self.keys[0].shape[2])


Rope = tuple[torch.Tensor, torch.Tensor]


def rope_tables(times: torch.Tensor, head_dim: int) -> Rope:
    """cos/sin (N, head_dim) for rotary position by time index: attention then depends only on
    how far apart two tokens are in time, so a stream can run past the trained length."""
    half = head_dim // 2
    freqs = 1.0 / 10000 ** (torch.arange(half, dtype=torch.float32, device=times.device) / half)
    angles = times.float()[..., None] * freqs
    return torch.cat([angles.cos(), angles.cos()], -1), torch.cat([angles.sin(), angles.sin()], -1)


def apply_rope(x: torch.Tensor, rope: Rope) -> torch.Tensor:
    cos, sin = rope
    half = x.shape[-1] // 2
    rotated = torch.cat([-x[..., half:], x[..., :half]], dim=-1)
    return x * cos + rotated * sin


class Attention(nn.Module):
    def __init__(self, dim: int, heads: int) -> None:
        super().__init__()
        if dim % heads:
            raise ValueError(f"dim {dim} is not divisible by heads {heads}")
        self.heads = heads
        self.qkv = nn.Linear(dim, dim * 3)
        self.proj = nn.Linear(dim, dim)

    def forward(
        self,
        x: torch.Tensor,
        mask: torch.Tensor | None = None,
        cache: KVCache | None = None,
        layer: int = 0,
        rope: Rope | None = None,
    ) -> torch.Tensor:
        b, n, d = x.shape
        q, k, v = self.qkv(x).reshape(b, n, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        if rope is not None:
            q, k = apply_rope(q, rope), apply_rope(k, rope)
        if cache is not None:
            if cache.keys[layer] is not None:
                k = torch.cat([cache.keys[layer], k], dim=2)
                v = torch.cat([cache.values[layer], v], dim=2)
            cache.keys[layer], cache.values[layer] = k, v
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        return self.proj(out.transpose(1, 2).reshape(b, n, d))


class Block(nn.Module):
    """Pre-norm transformer block; the feed-forward is dense or a mixture of experts."""

    def __init__(self, dim: int, heads: int, mlp_ratio: float = 4.0, moe: MoEConfig | None = None):
        super().__init__()
        hidden = int(dim * mlp_ratio)
        self.norm1, self.norm2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.attn = Attention(dim, heads)
        self.moe = MoEFeedForward(dim, hidden, moe) if moe is not None else None
        self.mlp = (
            None
            if moe
            else nn.Sequential(nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, dim))
        )

    def forward(
        self,
        x: torch.Tensor,
        mask: torch.Tensor | None = None,
        cache: KVCache | None = None,
        layer: int = 0,
        rope: Rope | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        x = x + self.attn(self.norm1(x), mask, cache, layer, rope)
        if self.moe is None:
            return x + self.mlp(self.norm2(x)), x.new_zeros(())
        gate = cache.gates[layer] if cache is not None else None
        y, aux, state = self.moe(self.norm2(x), gate)
        if cache is not None:
            cache.gates[layer] = state
        return x + y, aux


class Transformer(nn.Module):
    """A stack of blocks with a final norm; returns tokens and the summed MoE loss."""

    def __init__(self, dim: int, depth: int, heads: int, mlp_ratio: float = 4.0, moe=None):
        super().__init__()
        self.blocks = nn.ModuleList(Block(dim, heads, mlp_ratio, moe) for _ in range(depth))
        self.norm = nn.LayerNorm(dim)

    def forward(self, x, mask=None, cache: KVCache | None = None, rope: Rope | None = None):
        aux = x.new_zeros(())
        if cache is not None:
            cache.ensure(len(self.blocks))
        for i, block in enumerate(self.blocks):
            x, a = block(x, mask, cache, i, rope)
            aux = aux + a
        return self.norm(x), aux


def sincos_1d(dim: int, positions: np.ndarray) -> np.ndarray:
    """(len(positions), dim) sin-cos table."""
    omega = 1.0 / 10000 ** (np.arange(dim // 2, dtype=np.float64) / (dim / 2.0))
    out = np.einsum("m,d->md", positions.reshape(-1).astype(np.float64), omega)
    return np.concatenate([np.sin(out), np.cos(out)], axis=1)


def sincos_grid(dim: int, shape: tuple[int, ...]) -> torch.Tensor:
    """Sin-cos table for a grid (time, height, width or any rank), flattened in C order.

    The channels split evenly across axes (rounded to even), the remainder padded with zeros.
    """
    axes = len(shape)
    per_axis = (dim // axes) // 2 * 2
    grids = np.meshgrid(*[np.arange(s) for s in shape], indexing="ij")
    parts = [sincos_1d(per_axis, g) for g in grids]
    table = np.concatenate(parts, axis=1)
    table = np.pad(table, ((0, 0), (0, dim - table.shape[1])))
    return torch.tensor(table, dtype=torch.float32)


def frame_causal_mask(times: torch.Tensor, window: int) -> torch.Tensor:
    """Boolean (..., N, N) from times (..., N): a token sees its own time step and the
    window−1 steps before it."""
    gap = times[..., :, None] - times[..., None, :]
    return (gap >= 0) & (gap < window)
