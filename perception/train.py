"""`eco1 train zjepa`: AdamW with warmup and cosine decay, the EMA schedule, bf16 autocast on
GPU, a progress bar, safetensors checkpoints with resume, and DDP under torchrun.

Under torchrun each process takes its own slice of every epoch's clip order; rank 0 makes the
dataset (once), shows progress, logs curves and writes checkpoints.
"""

from __future__ import annotations

import json
import math
import os
import sys
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from tqdm import tqdm

from perception.captions import caption_embeddings
from perception.checkpoint import export_inference, load_training, save_training, write_sidecar
from perception.objectives import ema_update, momentum_at
from perception.sim import ClipSpec
from perception.sim.shards import matches, read_shards, write_shards
from perception.train_config import TrainConfig
from perception.zjepa import CONFIGS, VIDEO_MASKS, ZJEPA, Batch

TRAIN_FIRST_SEED = 1_000_000  # evaluation draws from 5_000_000 on


def learning_rate(step: int, cfg: TrainConfig) -> float:
    """Linear warmup, then cosine from lr to min_lr."""
    if step < cfg.warmup:
        return cfg.lr * (step + 1) / cfg.warmup
    progress = (step - cfg.warmup) / max(1, cfg.steps - cfg.warmup)
    return cfg.min_lr + 0.5 * (cfg.lr - cfg.min_lr) * (1 + math.cos(math.pi * min(1.0, progress)))


def _distributed() -> tuple[int, int]:
    if int(os.environ.get("WORLD_SIZE", "1")) > 1 and not dist.is_initialized():
        backend = "nccl" if torch.cuda.is_available() else "gloo"
        dist.init_process_group(backend)
    if dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def prepare_data(cfg: TrainConfig, spec: ClipSpec, rank: int):
    """Rank 0 simulates the dataset unless a finished one of this spec and size is there,
    and caches its caption embeddings; the other ranks wait, then read both."""
    if rank == 0 and not matches(cfg.data, spec, cfg.clips):
        write_shards(cfg.data, cfg.clips, spec, first_seed=TRAIN_FIRST_SEED)
    if rank != 0 and dist.is_initialized():
        dist.barrier()  # rank 0 meets it below, once the cache is written
    arrays = read_shards(cfg.data, spec)
    ids, embeddings = caption_embeddings(cfg.data, arrays["description"])
    if rank == 0 and dist.is_initialized():
        dist.barrier()
    return arrays, torch.from_numpy(ids), torch.from_numpy(embeddings)


def make_batch(arrays, ids, embeddings, rows: np.ndarray, device) -> Batch:
    take = lambda key: torch.from_numpy(arrays[key][rows]).to(device)  # noqa: E731
    return Batch(
        take("video"),
        take("audio"),
        take("points"),
        take("pans"),
        embeddings[ids[rows]].to(device),
        ids[rows].to(device),
    )


def train(cfg: TrainConfig) -> dict:
    """Run training; returns the final losses (rank 0's view)."""
    rank, world = _distributed()
    torch.manual_seed(cfg.seed)
    device = torch.device(
        f"cuda:{rank % torch.cuda.device_count()}" if torch.cuda.is_available() else "cpu"
    )
    zcfg = CONFIGS[cfg.config]
    spec = ClipSpec(frames=zcfg.frames, size=zcfg.image, points=zcfg.points, fps=zcfg.fps)
    arrays, ids, embeddings = prepare_data(cfg, spec, rank)
    model = ZJEPA(zcfg).to(device)
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=cfg.lr, weight_decay=cfg.weight_decay)
    ckpt = cfg.out / "last.safetensors"
    start = 0
    if cfg.resume and ckpt.exists():
        start = int(load_training(ckpt, model, optimizer)["step"])
    runner = _ddp(model) if world > 1 else model
    rng = np.random.default_rng(cfg.seed * 1000 + rank + start)
    n = len(ids)
    per_rank = cfg.batch // world
    log_path = _metrics_log(cfg, rank, start)
    bar = tqdm(total=cfg.steps, initial=start, desc=f"z-JEPA {cfg.config}", disable=rank != 0)
    order_rng = np.random.default_rng(cfg.seed)
    order = order_rng.permutation(n)
    losses: dict[str, float] = {}
    began = time.monotonic()
    for step in range(start, cfg.steps):
        offset = (step * cfg.batch) % n
        if offset + cfg.batch > n:
            order = order_rng.permutation(n)
        rows = np.take(
            order, np.arange(offset + rank * per_rank, offset + (rank + 1) * per_rank), mode="wrap"
        )
        batch = make_batch(arrays, ids, embeddings, rows, device)
        losses, momentum = _step(runner, model, optimizer, trainable, batch, step, cfg, rng)
        bar.update(1)
        if rank == 0 and (step % cfg.log_every == 0 or step == cfg.steps - 1):
            bar.set_postfix(loss=f"{losses['total']:.3f}", video=f"{losses['video']:.3f}")
            _log(
                log_path, {"step": step, "lr": learning_rate(step, cfg), "ema": momentum, **losses}
            )
        done = step + 1
        if rank == 0 and (done % cfg.checkpoint_every == 0 or done == cfg.steps):
            save_training(ckpt, model, optimizer, _meta(cfg, done, losses, began, world))
    bar.close()
    total = cfg.steps + cfg.future_steps
    if max(start, cfg.steps) < total:
        losses = _future_phase(model, arrays, cfg, max(start, cfg.steps), device, rank, log_path)
        if rank == 0:
            save_training(ckpt, model, optimizer, _meta(cfg, total, losses, began, world))
    if rank == 0 and cfg.export is not None:
        export_inference(model, cfg.export, _meta(cfg, total, losses, began, world))
        write_sidecar(cfg.export, cfg.out, command_line())
    if dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()
    return losses


def _ddp(model: ZJEPA) -> torch.nn.Module:
    """Some parameters sit out some steps (the look-ahead carry outside "future" masks,
    experts nobody routed to), so DDP must not wait for their gradients."""
    return torch.nn.parallel.DistributedDataParallel(model, find_unused_parameters=True)


def _metrics_log(cfg: TrainConfig, rank: int, start: int) -> Path:
    """metrics.jsonl under the run's folder, emptied when a run starts from step 0."""
    log_path = cfg.out / "metrics.jsonl"
    if rank == 0:
        cfg.out.mkdir(parents=True, exist_ok=True)
        if start == 0:
            log_path.unlink(missing_ok=True)
    return log_path


def _log(log_path: Path, record: dict) -> None:
    with log_path.open("a") as f:
        f.write(json.dumps(record) + "\n")


def _step(runner, model, optimizer, trainable, batch, step: int, cfg: TrainConfig, rng):
    """One optimiser step on the masked objectives, then the EMA targets follow; returns the
    losses and the EMA momentum used."""
    device = batch.video.device
    for group in optimizer.param_groups:
        group["lr"] = learning_rate(step, cfg)
    with torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
        out = runner(batch, VIDEO_MASKS[step % len(VIDEO_MASKS)], rng)
    optimizer.zero_grad(set_to_none=True)
    out["total"].backward()
    torch.nn.utils.clip_grad_norm_(trainable, 1.0)
    optimizer.step()
    momentum = momentum_at(step, cfg.steps, cfg.ema_start, cfg.ema_end)
    for target, online in model.online_modules():
        ema_update(target, online, momentum)
    return {k: float(v.detach()) for k, v in out.items()}, momentum


def _future_phase(model, arrays, cfg: TrainConfig, first: int, device, rank: int, log_path: Path):
    """The predictor alone learns to look one tubelet step ahead, encoders frozen. In joint
    training it shares its capacity with the block masks and loses to copying the last
    step; a few hundred steps on this task alone fix that (evals/results/zjepa.json)."""
    params = [p for m in (model.video_predictor, model.carry_in, model.pan_embed)
              for p in m.parameters()]  # fmt: skip
    optimizer = torch.optim.AdamW(params, lr=cfg.future_lr)
    rng = np.random.default_rng([cfg.seed, first])  # the same rows on every rank
    n = len(arrays["video"])
    bar = tqdm(total=cfg.future_steps, initial=first - cfg.steps, desc="predictor, look-ahead",
               disable=rank != 0)  # fmt: skip
    loss = torch.zeros(())
    for step in range(first, cfg.steps + cfg.future_steps):
        rows = rng.integers(0, n, cfg.batch)
        frames = torch.from_numpy(arrays["video"][rows]).to(device)
        pans = torch.from_numpy(arrays["pans"][rows]).to(device)
        loss = model.future_loss(frames, pans)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        bar.update(1)
        if rank == 0 and step % cfg.log_every == 0:
            _log(log_path, {"step": step, "future": float(loss.detach())})
    bar.close()
    return {"future": float(loss.detach())}


def command_line() -> str:
    """This process's command, as the user would type it (`eco1 train ...`)."""
    args = sys.argv[1:]
    return "eco1 " + " ".join(args) if args and args[0] == "train" else " ".join(sys.argv)


def _meta(cfg: TrainConfig, step: int, losses: dict, began: float, world: int) -> dict:
    train_cfg = {k: str(v) if isinstance(v, Path) else v for k, v in asdict(cfg).items()}
    return {
        "config": cfg.config,
        "step": step,
        "losses": losses,
        "train": train_cfg,
        "seconds": round(time.monotonic() - began, 1),
        "world_size": world,
    }
