"""Mixture-of-experts feed-forward, shared by perception and the HLLM controller.

Pure routing functions (top-k with capacity, Switch load balancing, router z-loss, sticky
gating as a hidden-Markov filter) plus one module that applies them. Tokens over an expert's
capacity are dropped from that expert (their residual passes through), as in Switch/GShard.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn


@dataclass(frozen=True)
class MoEConfig:
    experts: int = 8
    top_k: int = 2
    capacity_factor: float = 1.25
    balance_weight: float = 0.01
    z_weight: float = 0.001
    stickiness: float = 0.0  # P(keep the previous chunk's experts); 0 turns sticky gating off


def capacity(tokens: int, experts: int, top_k: int, capacity_factor: float) -> int:
    """Slots per expert: ceil(capacity_factor · tokens · k / experts)."""
    return max(1, math.ceil(capacity_factor * tokens * top_k / experts))


def top_k_dispatch(
    probs: torch.Tensor, top_k: int, slots: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Assign each token (rows of probs, (T, E)) to its k best experts, first come first served.

    Returns (assigned, weights), both (T, E): assigned is 1 where a token got a slot; weights
    are its renormalised top-k probabilities on the slots it kept (0 where dropped).
    """
    top_p, top_i = probs.topk(top_k, dim=-1)
    chosen = torch.zeros_like(probs).scatter(-1, top_i, 1.0)
    # Earlier tokens claim slots first; priority goes to each token's first choice.
    assigned = torch.zeros_like(probs)
    for rank in range(top_k):
        pick = torch.zeros_like(probs).scatter(-1, top_i[:, rank : rank + 1], 1.0)
        used = assigned.sum(0, keepdim=True)
        position = used + torch.cumsum(pick, dim=0) - pick
        assigned = assigned + pick * (position < slots).float()
    norm = (top_p.sum(-1, keepdim=True)).clamp_min(1e-9)
    weights = probs * chosen * assigned / norm
    return assigned, weights


def load_balancing_loss(probs: torch.Tensor, chosen: torch.Tensor) -> torch.Tensor:
    """Switch's N · Σ_i f_i · P_i: f_i the share of routing choices on expert i, P_i its mean
    router probability."""
    experts = probs.shape[-1]
    f = chosen.sum(0) / chosen.sum().clamp_min(1e-9)
    p = probs.mean(0)
    return experts * (f * p).sum()


def router_z_loss(logits: torch.Tensor) -> torch.Tensor:
    """Mean of logsumexp(logits)²: keeps router logits small and routing numerically stable."""
    return torch.logsumexp(logits, dim=-1).pow(2).mean()


def sticky_posterior(
    probs: torch.Tensor, previous: torch.Tensor | None, stay: float
) -> torch.Tensor:
    """Hidden-Markov forward step: prior = stay·previous + (1−stay)/E, posterior ∝ prior · probs.

    previous is the last chunk's expert posterior ((E,) or broadcastable to probs); with it
    the router keeps its experts unless the new evidence clearly disagrees.
    """
    if previous is None or stay <= 0.0:
        return probs
    experts = probs.shape[-1]
    prior = stay * previous + (1.0 - stay) / experts
    post = probs * prior
    return post / post.sum(-1, keepdim=True).clamp_min(1e-12)


class MoEFeedForward(nn.Module):
    """Drop-in for a transformer MLP: (B, N, D) → (B, N, D), plus an auxiliary loss.

    `gate_state` (B, E) carries the routing posterior from one chunk to the next for sticky
    gating in streaming use; pass None for independent chunks.
    """

    def __init__(self, dim: int, hidden: int, config: MoEConfig = MoEConfig()) -> None:
        super().__init__()
        self.config = config
        self.inference_top_k: int | None = None  # set per turn by the HLLM controller
        self.router = nn.Linear(dim, config.experts, bias=False)
        self.w_in = nn.Parameter(torch.randn(config.experts, dim, hidden) * dim**-0.5)
        self.b_in = nn.Parameter(torch.zeros(config.experts, hidden))
        self.w_out = nn.Parameter(torch.randn(config.experts, hidden, dim) * hidden**-0.5)
        self.b_out = nn.Parameter(torch.zeros(config.experts, dim))
        self.last_load = torch.zeros(config.experts)

    def forward(
        self, x: torch.Tensor, gate_state: torch.Tensor | None = None, top_k: int | None = None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        cfg = self.config
        k = top_k or self.inference_top_k or cfg.top_k
        b, n, d = x.shape
        flat = x.reshape(b * n, d)
        logits = self.router(flat)
        probs = logits.softmax(-1)
        if gate_state is not None:
            prev = gate_state.repeat_interleave(n, dim=0)
            probs = sticky_posterior(probs, prev, cfg.stickiness)
        slots = capacity(b * n, cfg.experts, k, cfg.capacity_factor)
        assigned, weights = top_k_dispatch(probs, k, slots)
        out = torch.zeros_like(flat)
        for e in range(cfg.experts):
            rows = assigned[:, e].nonzero(as_tuple=True)[0]
            if rows.numel() == 0:
                continue
            h = F.gelu(flat[rows] @ self.w_in[e] + self.b_in[e])
            y = h @ self.w_out[e] + self.b_out[e]
            out.index_add_(0, rows, y * weights[rows, e : e + 1])
        chosen = torch.zeros_like(probs).scatter(-1, probs.topk(k, -1).indices, 1.0)
        aux = cfg.balance_weight * load_balancing_loss(probs, chosen)
        aux = aux + cfg.z_weight * router_z_loss(logits)
        self.last_load = assigned.detach().sum(0)
        new_state = probs.detach().reshape(b, n, -1).mean(1)
        return out.reshape(b, n, d), aux, new_state


def set_inference_top_k(model: nn.Module, k: int) -> int:
    """Route every MoE layer of model through k experts from now on; returns how many."""
    layers = [m for m in model.modules() if isinstance(m, MoEFeedForward)]
    for layer in layers:
        layer.inference_top_k = max(1, min(int(k), layer.config.experts))
    return len(layers)
