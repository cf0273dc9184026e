"""safetensors checkpoints: full training state for resume, and a small inference export.

The export keeps what the service and evals use (EMA target encoders, predictors, heads) in
float16; online encoders are rebuilt from the targets on load.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from perception.zjepa import CONFIGS, ZJEPA

DEFAULT_CHECKPOINT = Path(__file__).parent / "checkpoints" / "zjepa-tiny.safetensors"
_ONLINE = ("video.", "audio.", "points.")


class CheckpointError(FileNotFoundError):
    """A checkpoint that is missing or does not fit the model it is loaded into."""


def save_training(path: Path, model: ZJEPA, optimizer: torch.optim.Optimizer, meta: dict) -> None:
    """Model and AdamW state in one safetensors file; meta (step, configs) in its header."""
    tensors = {f"model/{k}": v.detach().contiguous() for k, v in model.state_dict().items()}
    for i, state in optimizer.state_dict()["state"].items():
        for name, value in state.items():
            tensors[f"optim/{i}/{name}"] = torch.as_tensor(value).detach().contiguous()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    save_file(tensors, str(tmp), metadata={"meta": json.dumps(meta)})
    tmp.replace(path)  # a crash mid-write never leaves a torn checkpoint


def load_training(path: Path, model: ZJEPA, optimizer: torch.optim.Optimizer) -> dict:
    """Restore model and optimizer in place; returns the saved meta."""
    tensors = load_file(str(path))
    model.load_state_dict({k[6:]: v for k, v in tensors.items() if k.startswith("model/")})
    state = optimizer.state_dict()
    for key, value in tensors.items():
        if key.startswith("optim/"):
            _, i, name = key.split("/")
            state["state"].setdefault(int(i), {})[name] = value
    optimizer.load_state_dict(state)
    return read_meta(path)


def read_meta(path: Path) -> dict:
    from safetensors import safe_open

    with safe_open(str(path), "pt") as f:
        return json.loads((f.metadata() or {}).get("meta", "{}"))


def export_inference(model: ZJEPA, path: Path, meta: dict) -> int:
    """Write the inference export; returns its size in bytes."""
    keep = {
        k: v.detach().half().contiguous()
        for k, v in model.state_dict().items()
        if not k.startswith(_ONLINE)
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file(keep, str(path), metadata={"meta": json.dumps(meta)})
    return path.stat().st_size


def write_sidecar(export: Path, run_dir: Path, command: str, points: int = 120) -> Path:
    """export.json beside the export: how it was made, its meta and its loss curve."""
    lines = (run_dir / "metrics.jsonl").read_text().splitlines() if run_dir.exists() else []
    records = [json.loads(line) for line in lines if line.strip()]
    stride = max(1, len(records) // points)
    sidecar = export.with_suffix(".json")
    meta = read_meta(export)
    runs = []  # a resumed run keeps the record of the runs before it
    if sidecar.exists() and meta.get("train", {}).get("resume"):
        runs = json.loads(sidecar.read_text()).get("runs", [])
    runs.append(
        {"command": command, "until_step": meta.get("step"), "seconds": meta.get("seconds")}
    )
    body = {"command": command, "runs": runs, "meta": meta, "curve": records[::stride]}
    sidecar.write_text(json.dumps(body, indent=1) + "\n")
    return sidecar


def load_inference(path: Path | None = None) -> ZJEPA:
    """The model from an export (default: the checkpoint shipped in the package), eval mode."""
    path = Path(path or DEFAULT_CHECKPOINT)
    if not path.exists():
        raise CheckpointError(
            f"z-JEPA checkpoint {path} is missing; train one with `eco1 train zjepa --config tiny`"
        )
    meta = read_meta(path)
    config = CONFIGS.get(meta.get("config", ""))
    if config is None:
        raise CheckpointError(f"{path} names no known config (meta: {meta})")
    model = ZJEPA(config)
    tensors = {k: v.float() for k, v in load_file(str(path)).items()}
    for prefix in _ONLINE:  # online encoders mirror the targets at inference
        tensors.update(
            {k[len("target_") :]: v for k, v in tensors.items() if k.startswith(f"target_{prefix}")}
        )
    missing, unexpected = model.load_state_dict(tensors, strict=False)
    if missing or unexpected:
        raise CheckpointError(
            f"{path} does not fit config {config.name}: {missing[:3]} {unexpected[:3]}"
        )
    return model.eval()


@lru_cache(maxsize=4)
def shared_model(path: Path | None = None) -> ZJEPA:
    """One loaded model per checkpoint per process; sessions share its (read-only) weights."""
    return load_inference(path)
