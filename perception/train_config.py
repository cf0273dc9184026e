"""Training settings for `eco1 train zjepa`, importable without torch (the CLI reads the
defaults to build its flags)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass
class TrainConfig:
    config: str = "tiny"
    steps: int = 3000
    future_steps: int = 300  # then the predictor alone, on looking ahead (encoders frozen)
    future_lr: float = 3e-4
    batch: int = 32
    lr: float = 5e-4
    min_lr: float = 1e-5
    weight_decay: float = 0.04
    warmup: int = 150
    ema_start: float = 0.996
    ema_end: float = 1.0
    clips: int = 6000
    data: Path = Path("data/zjepa-sim")
    out: Path = Path("runs/zjepa-tiny")
    seed: int = 0
    checkpoint_every: int = 500
    log_every: int = 25
    resume: bool = False
    export: Path | None = None
