"""`eco1 eval zjepa`: what the shipped z-JEPA checkpoint learned, against baselines.

- probe: a linear classifier on frozen features predicts the clip's behaviour, for z-JEPA,
  the same architecture at random init, and raw pixels; the same on the *next* behaviour
  (action anticipation).
- future: the predictor's guess of the last tubelet step's latents vs copying the step before.
- streaming: encode time per chunk as the stream grows, cached vs re-encoding the window.
Clips come from seeds the training set never used.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from evals.harness.plots import BarPanel, bar_panels
from perception.checkpoint import DEFAULT_CHECKPOINT, load_inference, read_meta
from perception.objectives import layer_normed
from perception.sim import BEHAVIOURS, ClipSpec, make_clip
from perception.sim.clips import continuous_frames
from perception.streaming import StreamingVideoEncoder
from perception.video import to_video_tensor
from perception.zjepa import ZJEPA

EVAL_FIRST_SEED = 5_000_000  # training data starts at 1_000_000 and is far smaller
PROBE_TRAIN, PROBE_TEST = 1200, 600
STREAM_STEPS = (4, 16, 64)


def clip_arrays(n: int, first_seed: int, spec: ClipSpec) -> dict[str, np.ndarray]:
    clips = [make_clip(first_seed + i, spec) for i in tqdm(range(n), desc="eval clips")]
    return {
        "video": np.stack([c.video for c in clips]),
        "pans": np.stack([c.pans for c in clips]),
        "behaviour": np.array([c.behaviour for c in clips]),
        "next": np.array([c.next_behaviour for c in clips]),
    }


@torch.no_grad()
def encoder_features(model: ZJEPA, video: np.ndarray, batch: int = 64) -> np.ndarray:
    """Frozen target-encoder latents, averaged over space and kept per time step."""
    out = []
    steps = model.video.grid[0]
    for i in range(0, len(video), batch):
        z = model.encode_video(torch.from_numpy(video[i : i + batch]))
        out.append(z.reshape(z.shape[0], steps, -1, z.shape[-1]).mean(2).flatten(1).numpy())
    return np.concatenate(out)


def pixel_features(video: np.ndarray, cells: int = 8) -> np.ndarray:
    """Raw pixels, average-pooled to cells×cells per frame."""
    n, t, h, w, c = video.shape
    pooled = video.reshape(n, t, cells, h // cells, cells, w // cells, c).mean((3, 5))
    return pooled.reshape(n, -1).astype(np.float32)


def probe_accuracy(train_x, train_y, test_x, test_y) -> float:
    """Linear (multinomial logistic) probe on standardised features."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    probe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=3000, C=0.5))
    probe.fit(train_x, train_y)
    return float(probe.score(test_x, test_y))


@torch.no_grad()
def future_l1(model: ZJEPA, video: np.ndarray, pans: np.ndarray, batch: int = 64) -> dict:
    """L1 to the layer-normed latents of the last step: predictor vs copying the one before."""
    per_step = model.video.tokens_per_step
    model_err, copy_err = [], []
    for i in range(0, len(video), batch):
        frames = torch.from_numpy(video[i : i + batch])
        target = layer_normed(model.encode_video(frames))
        predicted = model.predict_future(frames, torch.from_numpy(pans[i : i + batch]))
        last, before = target[:, -per_step:], target[:, -2 * per_step : -per_step]
        model_err.append((predicted - last).abs().mean((1, 2)))
        copy_err.append((before - last).abs().mean((1, 2)))
    return {
        "model": round(float(torch.cat(model_err).mean()), 4),
        "copy_last": round(float(torch.cat(copy_err).mean()), 4),
    }


@torch.no_grad()
def streaming_times(model: ZJEPA, steps: int = max(STREAM_STEPS), reps: int = 3) -> dict:
    """Per-chunk encode ms at each length in STREAM_STEPS: cached streaming vs recomputing."""
    encoder = model.target_video
    take = continuous_frames(seed=11, size=model.config.image)
    frames = torch.from_numpy(np.stack([next(take)[0] for _ in range(2 * steps)]))[None]
    cached: dict[int, list[float]] = {s: [] for s in STREAM_STEPS}
    recompute: dict[int, list[float]] = {s: [] for s in STREAM_STEPS}
    for _ in range(reps):
        stream = StreamingVideoEncoder(encoder)
        for step in range(1, steps + 1):
            chunk = frames[:, 2 * (step - 1) : 2 * step]
            started = time.perf_counter()
            stream.push(chunk)
            if step in cached:
                cached[step].append((time.perf_counter() - started) * 1000)
                started = time.perf_counter()
                encoder(to_video_tensor(frames[:, : 2 * step]))  # the whole stream again
                recompute[step].append((time.perf_counter() - started) * 1000)
    return {
        "stream_steps": list(STREAM_STEPS),
        "cached_ms": [round(float(np.median(cached[s])), 2) for s in STREAM_STEPS],
        "recompute_ms": [round(float(np.median(recompute[s])), 2) for s in STREAM_STEPS],
    }


def run_zjepa_eval(out_dir: Path, checkpoint: Path | None = None) -> int:
    out_dir.mkdir(parents=True, exist_ok=True)
    path = Path(checkpoint or DEFAULT_CHECKPOINT)
    model = load_inference(path)
    torch.manual_seed(123)
    random_model = ZJEPA(model.config).eval()
    cfg = model.config
    spec = ClipSpec(frames=cfg.frames, size=cfg.image, points=cfg.points, fps=cfg.fps)
    data = clip_arrays(PROBE_TRAIN + PROBE_TEST, EVAL_FIRST_SEED, spec)
    split = PROBE_TRAIN
    features = {
        "zjepa": encoder_features(model, data["video"]),
        "random_init": encoder_features(random_model, data["video"]),
        "pixels": pixel_features(data["video"]),
    }
    probe, anticipation = {}, {}
    for name, x in features.items():
        probe[name] = round(probe_accuracy(x[:split], data["behaviour"][:split], x[split:],
                                           data["behaviour"][split:]), 4)  # fmt: skip
        anticipation[name] = round(probe_accuracy(x[:split], data["next"][:split], x[split:],
                                                  data["next"][split:]), 4)  # fmt: skip
    majority = float(np.bincount(data["next"][split:]).max() / len(data["next"][split:]))
    anticipation["majority_class"] = round(majority, 4)
    future = future_l1(model, data["video"][split:], data["pans"][split:])
    stream = streaming_times(model)
    meta = read_meta(path)
    sidecar = path.with_suffix(".json")
    made = json.loads(sidecar.read_text()) if sidecar.exists() else {}
    curve, runs = made.get("curve", []), made.get("runs", [])
    results: dict[str, Any] = {
        "checkpoint": str(path.name),
        "config": cfg.name,
        "train_steps": meta.get("step"),
        "train_seconds": round(sum(r["seconds"] or 0 for r in runs), 1) if runs else None,
        "train_runs": runs,
        "classes": list(BEHAVIOURS),
        "probe_clips": {"train": PROBE_TRAIN, "test": PROBE_TEST},
        "probe_acc": probe,
        "anticipation_acc": anticipation,
        "future_l1": future,
        "streaming": stream,
        "stream_flatness": round(stream["cached_ms"][-1] / max(stream["cached_ms"][0], 1e-6), 2),
        "chance": round(1 / len(BEHAVIOURS), 4),
    }
    (out_dir / "zjepa.json").write_text(json.dumps(results, indent=2) + "\n")
    _plots(out_dir, results, curve)
    print(json.dumps({k: results[k] for k in ("probe_acc", "anticipation_acc", "future_l1")}))
    print(f"streaming ms per chunk at {stream['stream_steps']} steps: cached "
          f"{stream['cached_ms']} vs re-encode {stream['recompute_ms']}")  # fmt: skip
    return 0


def _plots(out_dir: Path, results: dict, curve: list[dict]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    bar_panels(
        out_dir / "zjepa_probe.png",
        [
            BarPanel("behaviour probe accuracy", results["probe_acc"]),
            BarPanel("next-behaviour accuracy", results["anticipation_acc"], "tab:green"),
            BarPanel("future-latent L1 (lower is better)", results["future_l1"], "tab:orange"),
        ],
        f"z-JEPA {results['config']} ({results['train_steps']} steps) on held-out simulator clips",
        width=12.0,
    )
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.9))
    if curve:
        for key in ("video", "audio", "points", "av", "text", "future"):
            points = [(r["step"], r[key]) for r in curve if key in r]
            if points:
                axes[0].plot(*zip(*points, strict=True), label=key)
        axes[0].set_yscale("log")
        axes[0].set_xlabel("step")
        axes[0].legend(fontsize=8)
    axes[0].set_title("training losses", fontsize=10)
    stream = results["streaming"]
    axes[1].plot(stream["stream_steps"], stream["cached_ms"], "o-", label="streaming (KV cache)")
    axes[1].plot(stream["stream_steps"], stream["recompute_ms"], "s-", label="re-encode stream")
    axes[1].set_xscale("log")
    axes[1].set_xlabel("stream length (tubelet steps)")
    axes[1].set_ylabel("ms per chunk")
    axes[1].legend(fontsize=8)
    axes[1].set_title("encode time per chunk", fontsize=10)
    fig.tight_layout()
    fig.savefig(out_dir / "zjepa_curves.png", dpi=110)
    plt.close(fig)
