"""BitDelta: a fine-tuned Linear stored as the base weights plus sign bits and one scale.

Δ = W_fine − W_base is kept as sign(Δ) packed eight to a byte and α = mean|Δ| per matrix,
so one user's copy of a matrix costs in·out/8 bytes. At inference the layer computes
x·W_baseᵀ + α·(x·sign(Δ)ᵀ) with the shared base weights: no per-user dense matrix is
built; the signs are unpacked through a 256-entry table (on whichever device the layer
lives, so CUDA uses the same code).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

_BIT_WEIGHTS = 2 ** torch.arange(8, dtype=torch.uint8)


def _sign_table(device: torch.device, dtype: torch.dtype) -> torch.Tensor:
    """(256, 8): byte value → its eight bits as ±1, least significant bit first."""
    bits = (torch.arange(256, dtype=torch.uint8)[:, None] & _BIT_WEIGHTS[None, :]) > 0
    return (bits.to(dtype) * 2 - 1).to(device)


@dataclass
class PackedDelta:
    """One matrix's delta: packed sign bits (out, ceil(in/8)) uint8 and the scale α."""

    bits: torch.Tensor
    alpha: float
    shape: tuple[int, int]

    @property
    def nbytes(self) -> int:
        return self.bits.numel() + 4  # the bits and one float32 scale


def pack_signs(delta: torch.Tensor) -> torch.Tensor:
    """(out, in) float → (out, ceil(in/8)) uint8; bit set where delta > 0."""
    out_f, in_f = delta.shape
    pad = (-in_f) % 8
    positive = torch.nn.functional.pad(delta > 0, (0, pad)).reshape(out_f, -1, 8)
    return (positive.to(torch.uint8) * _BIT_WEIGHTS.to(delta.device)).sum(-1).to(torch.uint8)


def unpack_signs(bits: torch.Tensor, in_features: int, dtype=torch.float32) -> torch.Tensor:
    """Inverse of pack_signs: (out, ceil(in/8)) uint8 → (out, in) of ±1."""
    table = _sign_table(bits.device, dtype)
    return table[bits.long()].reshape(bits.shape[0], -1)[:, :in_features]


def compress(base: torch.Tensor, fine: torch.Tensor) -> PackedDelta:
    """BitDelta of one weight matrix: signs and α = mean|W_fine − W_base|."""
    delta = (fine - base).float()
    return PackedDelta(pack_signs(delta), float(delta.abs().mean()), tuple(delta.shape))


class BitDeltaLinear(nn.Module):
    """A shared base Linear plus the active user's packed delta (and an optional low-rank
    adapter). With no delta loaded it is exactly the base layer."""

    def __init__(self, base: nn.Linear, lora_rank: int = 0) -> None:
        super().__init__()
        self.base = base
        for p in self.base.parameters():
            p.requires_grad_(False)
        self.bits: torch.Tensor | None = None
        self.alpha = nn.Parameter(torch.zeros(()), requires_grad=False)
        self._signs: torch.Tensor | None = None  # unpacked once per user, in compute dtype
        self.lora_a = self.lora_b = None
        if lora_rank:
            self.lora_a = nn.Parameter(torch.randn(lora_rank, base.in_features) * 0.01)
            self.lora_b = nn.Parameter(torch.zeros(base.out_features, lora_rank))

    def load(self, delta: PackedDelta | None) -> None:
        """Make `delta` the active user's (None: back to the base model)."""
        if delta is not None and delta.shape != (self.base.out_features, self.base.in_features):
            raise ValueError(f"delta of shape {delta.shape} does not fit {self.base}")
        self.bits = None if delta is None else delta.bits.to(self.base.weight.device)
        with torch.no_grad():
            self.alpha.fill_(0.0 if delta is None else delta.alpha)
        self._signs = None

    def signs(self) -> torch.Tensor | None:
        if self.bits is None:
            return None
        if self._signs is None:
            self._signs = unpack_signs(self.bits, self.base.in_features, self.base.weight.dtype)
        return self._signs

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.base(x)
        signs = self.signs()
        if signs is not None:
            y = y + self.alpha * (x @ signs.T)
        if self.lora_a is not None:
            y = y + (x @ self.lora_a.T) @ self.lora_b.T
        return y
