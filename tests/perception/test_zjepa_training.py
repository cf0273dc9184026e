"""`eco1 train zjepa` for real: checkpoints, resume, export, and DDP with 2 gloo processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from perception.checkpoint import (
    DEFAULT_CHECKPOINT,
    CheckpointError,
    load_inference,
    read_meta,
)
from perception.sim import make_clip

pytestmark = pytest.mark.slow  # training runs and two gloo processes

ROOT = Path(__file__).resolve().parents[2]


def _train(
    tmp: Path, *extra: str, launcher: list[str] | None = None
) -> subprocess.CompletedProcess:
    cmd = [*(launcher or [sys.executable]), "-m", "agent.cli", "train", "zjepa"]
    cmd += ["--clips", "24", "--batch", "4", "--future-steps", "1"]
    cmd += ["--data", str(tmp / "data"), "--out", str(tmp / "run")]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run(
        [*cmd, *extra], cwd=ROOT, capture_output=True, text=True, timeout=400, env=env
    )


def test_train_resume_and_export(tmp_path):
    first = _train(tmp_path, "--steps", "2", "--checkpoint-every", "1")
    assert first.returncode == 0, first.stderr[-2000:]
    assert read_meta(tmp_path / "run" / "last.safetensors")["step"] == 3  # 2 joint + 1 look-ahead
    export = tmp_path / "tiny.safetensors"
    again = _train(tmp_path, "--steps", "4", "--resume", "--export", str(export))
    assert again.returncode == 0, again.stderr[-2000:]
    assert read_meta(tmp_path / "run" / "last.safetensors")["step"] == 5
    steps = [json.loads(line)["step"] for line in (tmp_path / "run" / "metrics.jsonl").open()]
    assert steps[0] == 0 and steps[-1] == 3  # the log carries on across the resume
    assert export.stat().st_size < 10 * 2**20
    model = load_inference(export)
    z = model.encode_video(torch.from_numpy(make_clip(0).video)[None])
    assert z.shape == (1, 64, 96) and torch.isfinite(z).all()


def test_ddp_smoke_two_gloo_processes(tmp_path):
    launcher = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2"]
    result = _train(tmp_path, "--steps", "3", launcher=launcher)
    assert result.returncode == 0, result.stderr[-3000:]
    meta = read_meta(tmp_path / "run" / "last.safetensors")
    assert meta["world_size"] == 2 and meta["step"] == 4


def test_missing_checkpoint_is_a_clear_error(tmp_path):
    with pytest.raises(CheckpointError, match="eco1 train zjepa"):
        load_inference(tmp_path / "nope.safetensors")


def test_the_shipped_checkpoint_loads_and_records_how_it_was_made():
    assert DEFAULT_CHECKPOINT.stat().st_size <= 10 * 2**20
    meta = read_meta(DEFAULT_CHECKPOINT)
    assert meta["config"] == "tiny" and meta["step"] >= 1000
    made = json.loads(DEFAULT_CHECKPOINT.with_suffix(".json").read_text())
    assert made["runs"][0]["command"].startswith("eco1 train zjepa --config tiny")
    model = load_inference()
    assert not model.training
