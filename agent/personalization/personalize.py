"""Personalising a whole model: which Linears carry deltas, making them, distilling their
scales, and swapping the active user."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable

import torch
from torch import nn
from tqdm import tqdm

from agent.personalization.bitdelta import BitDeltaLinear, PackedDelta, compress

Deltas = dict[str, PackedDelta]


def linear_names(model: nn.Module, include: Callable[[str], bool] = lambda name: True) -> list[str]:
    """Names of the nn.Linear modules that will carry deltas."""
    return [n for n, m in model.named_modules() if isinstance(m, nn.Linear) and include(n)]


def make_deltas(base: nn.Module, fine: nn.Module, names: Iterable[str]) -> Deltas:
    """Compress fine − base for each named Linear."""
    base_mods, fine_mods = dict(base.named_modules()), dict(fine.named_modules())
    return {n: compress(base_mods[n].weight.data, fine_mods[n].weight.data) for n in names}


def wrap(model: nn.Module, names: Iterable[str], lora_rank: int = 0) -> dict[str, BitDeltaLinear]:
    """Replace each named Linear by a BitDeltaLinear around it, in place."""
    wrapped = {}
    for name in names:
        parent_name, _, child = name.rpartition(".")
        parent = model.get_submodule(parent_name) if parent_name else model
        layer = BitDeltaLinear(getattr(parent, child), lora_rank)
        setattr(parent, child, layer)
        wrapped[name] = layer
    return wrapped


class PersonalizedModel:
    """One shared base model; `activate(user, deltas)` swaps whose deltas it runs with.

    A lock makes a swap atomic with respect to `run`, so a request never sees half of one
    user's deltas and half of another's.
    """

    def __init__(self, model: nn.Module, names: Iterable[str]) -> None:
        self.model = model
        self.layers = wrap(model, list(names))
        self.user: str | None = None
        self.last_swap_ms = 0.0
        self._lock = threading.RLock()

    def activate(self, user: str | None, deltas: Deltas | None) -> float:
        """Load a user's deltas (None: the base model); returns the swap time in ms."""
        started = time.perf_counter()
        with self._lock:
            for name, layer in self.layers.items():
                layer.load(None if deltas is None else deltas[name])
            self.user = user
            self.last_swap_ms = (time.perf_counter() - started) * 1000
        return self.last_swap_ms

    def run(self, user: str | None, fn: Callable[[nn.Module], torch.Tensor]) -> torch.Tensor:
        """Call fn(model) with `user`'s deltas active; refuses another user's state."""
        with self._lock:
            if user != self.user:
                raise PermissionError(f"model is personalised for {self.user!r}, not {user!r}")
            return fn(self.model)

    def run_as(
        self,
        user: str | None,
        deltas: Callable[[], Deltas | None],
        fn: Callable[[nn.Module], torch.Tensor],
    ) -> torch.Tensor:
        """Swap to `user` if another is active (deltas() fetches theirs), then call fn, all
        under the lock: the unit of work for a service sharing one model among learners."""
        with self._lock:
            if user != self.user:
                self.activate(user, deltas())
            return fn(self.model)

    def current_deltas(self) -> Deltas:
        """The active deltas with their (possibly distilled) scales."""
        return {
            name: PackedDelta(layer.bits, float(layer.alpha), (layer.base.out_features,
                                                              layer.base.in_features))
            for name, layer in self.layers.items()
            if layer.bits is not None
        }  # fmt: skip


def distill_scales(
    personal: PersonalizedModel,
    teacher: Callable[[torch.Tensor], torch.Tensor],
    student: Callable[[nn.Module, torch.Tensor], torch.Tensor],
    batches: list[torch.Tensor],
    steps: int = 100,
    lr: float = 1e-4,
) -> list[float]:
    """Fit only the scales α so the personalised model's outputs match the fine-tuned
    model's (MSE on outputs, as BitDelta's scale distillation); returns the loss curve."""
    alphas = [layer.alpha for layer in personal.layers.values()]
    for p in personal.model.parameters():
        p.requires_grad_(False)
    for a in alphas:
        a.requires_grad_(True)
    optimizer = torch.optim.Adam(alphas, lr=lr)
    losses = []
    for step in tqdm(range(steps), desc="distilling scales", unit="step"):
        x = batches[step % len(batches)]
        with torch.no_grad():
            target = teacher(x)
        loss = (student(personal.model, x) - target).pow(2).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(float(loss.detach()))
    for a in alphas:
        a.requires_grad_(False)
    return losses
