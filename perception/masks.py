"""Multiblock masks, as V-JEPA trains: spatial blocks that span all of time (3D tubes).

Two generators per batch: 8 small blocks at scale 0.15 (short-range prediction) and 2 large
at 0.7 (long-range). The union of a generator's blocks is the target; the rest is context.
Indices are truncated to the batch's shortest so samples stack.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch


@dataclass(frozen=True)
class BlockSpec:
    blocks: int
    scale: float
    aspect: tuple[float, float] = (0.75, 1.5)


V_JEPA_BLOCKS = (BlockSpec(8, 0.15), BlockSpec(2, 0.7))
MIN_CONTEXT_FRACTION = 0.1


def tube_mask(grid: tuple[int, int, int], spec: BlockSpec, rng: np.random.Generator) -> np.ndarray:
    """Boolean (T, H, W): True where a token is a prediction target."""
    t, h, w = grid
    target = np.zeros(grid, dtype=bool)
    for _ in range(spec.blocks):
        area = spec.scale * h * w
        aspect = math.exp(rng.uniform(math.log(spec.aspect[0]), math.log(spec.aspect[1])))
        bh = int(np.clip(round(math.sqrt(area * aspect)), 1, h))
        bw = int(np.clip(round(math.sqrt(area / aspect)), 1, w))
        top, left = rng.integers(0, h - bh + 1), rng.integers(0, w - bw + 1)
        target[:, top : top + bh, left : left + bw] = True
    return target


def sample_masks(
    batch: int, grid: tuple[int, int, int], spec: BlockSpec, rng: np.random.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """(context_idx, target_idx), each (batch, n) long tensors into the flattened grid."""
    total = int(np.prod(grid))
    min_context = max(1, int(MIN_CONTEXT_FRACTION * total))
    contexts, targets = [], []
    for _ in range(batch):
        for _attempt in range(20):
            flat = tube_mask(grid, spec, rng).reshape(-1)
            if (~flat).sum() >= min_context and flat.sum() > 0:
                break
        else:  # too few context tokens however drawn: keep a random tenth as context
            flat = np.ones(total, dtype=bool)
            flat[rng.choice(total, min_context, replace=False)] = False
        contexts.append(np.flatnonzero(~flat))
        targets.append(np.flatnonzero(flat))
    n_ctx = min(len(c) for c in contexts)
    n_tgt = min(len(t) for t in targets)
    ctx = np.stack([rng.permutation(c)[:n_ctx] for c in contexts])
    tgt = np.stack([rng.permutation(t)[:n_tgt] for t in targets])
    return torch.from_numpy(np.sort(ctx, 1)), torch.from_numpy(np.sort(tgt, 1))


def sequence_masks(
    batch: int, length: int, fraction: float, rng: np.random.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """Contiguous spans over a 1D token order (audio time patches, ordered point groups)."""
    n_tgt = max(1, min(length - 1, int(round(fraction * length))))
    ctx, tgt = [], []
    for _ in range(batch):
        start = int(rng.integers(0, length - n_tgt + 1))
        span = np.arange(start, start + n_tgt)
        tgt.append(span)
        ctx.append(np.setdiff1d(np.arange(length), span))
    return torch.from_numpy(np.stack(ctx)), torch.from_numpy(np.stack(tgt))


def gather_tokens(x: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
    """x (B, N, D) at idx (B, n) → (B, n, D)."""
    return torch.gather(x, 1, idx.unsqueeze(-1).expand(-1, -1, x.shape[-1]))
