"""Losses and the EMA target update: pure functions on tensors."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def layer_normed(x: torch.Tensor) -> torch.Tensor:
    """Per-token layer norm without affine parameters: V-JEPA's regression target."""
    return F.layer_norm(x, (x.shape[-1],))


def jepa_l1(prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean absolute error against the layer-normed target latents."""
    return (prediction - layer_normed(target)).abs().mean()


def caption_contrastive(
    video: torch.Tensor, text: torch.Tensor, caption_ids: torch.Tensor, log_scale: torch.Tensor
) -> torch.Tensor:
    """Video→text InfoNCE; clips sharing a caption all count as positives (soft targets)."""
    v = F.normalize(video, dim=-1)
    t = F.normalize(text, dim=-1)
    logits = log_scale.exp().clamp(max=100.0) * v @ t.T
    same = (caption_ids[:, None] == caption_ids[None, :]).float()
    targets = same / same.sum(-1, keepdim=True)
    return torch.sum(-targets * logits.log_softmax(-1), dim=-1).mean()


def momentum_at(step: int, total: int, start: float = 0.996, end: float = 1.0) -> float:
    """V-JEPA's linear EMA schedule from `start` to `end` over training."""
    if total <= 0:
        return end
    return start + (end - start) * min(1.0, step / total)


@torch.no_grad()
def ema_update(target: nn.Module, online: nn.Module, momentum: float) -> None:
    """target ← m·target + (1−m)·online, parameter by parameter."""
    for t, o in zip(target.parameters(), online.parameters(), strict=True):
        t.mul_(momentum).add_(o.detach(), alpha=1.0 - momentum)
