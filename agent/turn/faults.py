"""Fault injection for reliability testing: make the LLM fail or hang, or TTS raise, at set
rates, so the fallbacks and the server's survival can be measured (`eco1 eval reliability`).
Off unless `server.faults` names rates; never set it in production."""

from __future__ import annotations

import random
import threading
from collections import Counter

from agent.config import FAULT_KINDS


class FaultInjected(RuntimeError):
    """An error raised on purpose by the fault injector."""


class FaultInjector:
    """Draws, per call site and seeded, whether a fault fires now; counts what fired."""

    def __init__(self, rates: dict[str, float], seed: int = 0, on_fire=None) -> None:
        unknown = set(rates) - set(FAULT_KINDS)
        if unknown:
            raise ValueError(f"unknown fault kinds {sorted(unknown)}; known: {FAULT_KINDS}")
        self.rates = dict(rates)
        self.fired: Counter[str] = Counter()
        self._random = random.Random(seed)
        self._lock = threading.Lock()
        self._on_fire = on_fire or (lambda _kind: None)

    def __call__(self, kind: str) -> bool:
        rate = self.rates.get(kind, 0.0)
        if rate <= 0:
            return False
        with self._lock:
            hit = self._random.random() < rate
            if hit:
                self.fired[kind] += 1
        if hit:
            self._on_fire(kind)
        return hit
