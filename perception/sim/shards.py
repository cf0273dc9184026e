"""Sharded on-disk datasets: clips generated in worker processes, stacked into .npz shards.

A manifest records the spec and seed range, so a dataset can be regenerated bit for bit and
a half-written directory is detected instead of silently read.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from multiprocessing import get_context
from pathlib import Path

import numpy as np
from tqdm import tqdm

from perception.sim.clips import Clip, ClipSpec, make_clip

MANIFEST = "manifest.json"
ARRAY_FIELDS = (
    "video",
    "audio",
    "points",
    "pans",
    "behaviour",
    "next_behaviour",
    "biome",
    "species",
)


class DatasetError(RuntimeError):
    """A dataset directory that is missing, incomplete or made with another spec."""


def _shard(args: tuple[int, int, ClipSpec]) -> dict[str, np.ndarray]:
    first, count, spec = args
    clips = [make_clip(first + i, spec) for i in range(count)]
    out = {name: np.stack([np.asarray(getattr(c, name)) for c in clips]) for name in ARRAY_FIELDS}
    out["description"] = np.array([c.description for c in clips])
    return out


def write_shards(
    out_dir: Path,
    clips: int,
    spec: ClipSpec = ClipSpec(),
    shard_size: int = 500,
    first_seed: int = 0,
    workers: int = 2,
) -> Path:
    """Write `clips` clips as shards under out_dir, showing progress; returns out_dir."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / MANIFEST).unlink(missing_ok=True)
    for old in out_dir.glob("shard-*.npz"):  # a dataset of another spec or size
        old.unlink()
    jobs = [(first_seed + s, min(shard_size, clips - s), spec) for s in range(0, clips, shard_size)]
    names = []
    with get_context("spawn").Pool(max(1, workers)) as pool:
        bar = tqdm(total=clips, desc=f"simulating {out_dir.name}", unit="clip")
        for i, shard in enumerate(pool.imap(_shard, jobs)):
            name = f"shard-{i:05d}.npz"
            np.savez(out_dir / name, **shard)
            names.append(name)
            bar.update(len(shard["behaviour"]))
        bar.close()
    manifest = {"spec": asdict(spec), "clips": clips, "first_seed": first_seed, "shards": names}
    (out_dir / MANIFEST).write_text(json.dumps(manifest, indent=2))
    return out_dir


def matches(data_dir: Path, spec: ClipSpec, clips: int) -> bool:
    """Whether data_dir holds a finished dataset of this spec and size."""
    path = Path(data_dir) / MANIFEST
    if not path.exists():
        return False
    manifest = json.loads(path.read_text())
    return manifest["spec"] == asdict(spec) and manifest["clips"] == clips


def read_shards(data_dir: Path, spec: ClipSpec | None = None) -> dict[str, np.ndarray]:
    """All shards of a dataset, concatenated; checks the manifest first."""
    data_dir = Path(data_dir)
    manifest_path = data_dir / MANIFEST
    if not manifest_path.exists():
        raise DatasetError(
            f"{data_dir} has no {MANIFEST}: not a dataset, or its writing was interrupted"
        )
    manifest = json.loads(manifest_path.read_text())
    if spec is not None and manifest["spec"] != asdict(spec):
        raise DatasetError(f"{data_dir} was made with {manifest['spec']}, not {asdict(spec)}")
    parts = [np.load(data_dir / name) for name in manifest["shards"]]
    return {key: np.concatenate([p[key] for p in parts]) for key in (*ARRAY_FIELDS, "description")}


def clip_from_arrays(arrays: dict[str, np.ndarray], i: int) -> Clip:
    """Row i of read_shards' output, as a Clip."""
    return Clip(
        **{k: arrays[k][i] for k in ARRAY_FIELDS}, description=str(arrays["description"][i])
    )
