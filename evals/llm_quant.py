"""`eco1 eval llm-quant`: the embedded gguf in each quantization `llm.requantize` offers.

For each: the time to convert it, prompt reading speed (what a turn's unread prompt costs),
decoding speed on the server's thread setting (what each answer token costs), and perplexity
on the project's knowledge-base notes (how much the conversion changed the model). All in one
run on the same host. Writes evals/results/llm_quant.json.
"""

from __future__ import annotations

import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from agent.backends.requantize import KINDS, requantized
from agent.config import Settings
from speech.assets import smollm2_gguf

KB_DIR = Path(__file__).resolve().parents[1] / "agent" / "retrieval" / "kb"
PROMPT_TOKENS = 256
DECODE_TOKENS = 32
ROUNDS = 5


def negative_log_likelihood(llama, texts: list[str]) -> tuple[float, int]:
    """Mean per-token NLL of the texts (each read from its start) and the tokens scored."""
    total, count = 0.0, 0
    for text in texts:
        tokens = llama.tokenize(text.encode())[: llama.n_ctx()]
        llama.reset()
        llama.eval(tokens)
        logits = np.asarray(llama.scores[: len(tokens) - 1], dtype=np.float64)
        logits -= logits.max(axis=1, keepdims=True)
        log_probs = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
        total -= float(log_probs[np.arange(len(tokens) - 1), tokens[1:]].sum())
        count += len(tokens) - 1
    return total / count, count


def prompt_speed(llama, tokens: list[int]) -> float:
    """Prompt tokens read per second, from an empty context."""
    llama.reset()
    started = time.perf_counter()
    llama.eval(tokens)
    return len(tokens) / (time.perf_counter() - started)


def decode_speed(llama, tokens: list[int]) -> float:
    """Tokens decoded per second, one at a time after a short prompt (median step)."""
    llama.reset()
    llama.eval(tokens[:8])
    steps = []
    for token in tokens[8 : 8 + DECODE_TOKENS]:
        started = time.perf_counter()
        llama.eval([token])
        steps.append(time.perf_counter() - started)
    return 1.0 / statistics.median(steps)


def load(path: Path, settings: Settings, **extra):
    from llama_cpp import Llama

    llm = settings.llm
    return Llama(model_path=str(path), n_threads=llm.threads, verbose=False,
                 n_threads_batch=llm.batch_threads or None, n_ctx=1024, **extra)  # fmt: skip


def measure_speeds(paths: dict[str, Path], settings: Settings, text: str) -> dict[str, Any]:
    """Speeds of every file in ROUNDS interleaved rounds (host noise hits all alike); medians."""
    models = {kind: load(path, settings) for kind, path in paths.items()}
    tokens = next(iter(models.values())).tokenize(text.encode())[:PROMPT_TOKENS]
    reads: dict[str, list[float]] = {kind: [] for kind in models}
    decodes: dict[str, list[float]] = {kind: [] for kind in models}
    for _ in tqdm(range(ROUNDS), desc="speed rounds"):
        for kind, llama in models.items():
            reads[kind].append(prompt_speed(llama, tokens))
            decodes[kind].append(decode_speed(llama, tokens))
    return {
        kind: {
            "prompt_tokens_per_s": round(statistics.median(reads[kind])),
            "decode_tokens_per_s": round(statistics.median(decodes[kind]), 1),
        }
        for kind in models
    }


def run_llm_quant_eval(settings: Settings, out_dir: Path) -> int:
    out_dir.mkdir(parents=True, exist_ok=True)
    source = smollm2_gguf(settings.llm.model_path)
    texts = [path.read_text() for path in sorted(KB_DIR.glob("*.md"))]
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="eco1-quant-") as cache:
        paths = {}
        for kind in KINDS:
            started = time.perf_counter()
            paths[kind] = requantized(source, kind, Path(cache))
            results[kind] = {"convert_s": round(time.perf_counter() - started, 2),
                             "file_mb": round(paths[kind].stat().st_size / 1e6, 1)}  # fmt: skip
        for kind, row in measure_speeds(paths, settings, " ".join(texts)).items():
            results[kind].update(row)
        for kind in tqdm(KINDS, desc="perplexity"):
            llama = load(paths[kind], settings, logits_all=True)
            nll, scored = negative_log_likelihood(llama, texts)
            results[kind].update(perplexity=round(float(np.exp(nll)), 3), tokens_scored=scored)
    result = {
        "source": source.name,
        "default": settings.llm.requantize,
        "threads": settings.llm.threads,
        "batch_threads": settings.llm.batch_threads,
        "rounds": ROUNDS,
        "kinds": results,
    }
    (out_dir / "llm_quant.json").write_text(json.dumps(result, indent=2) + "\n")
    for kind, row in results.items():
        print(f"{kind:5s} " + ", ".join(f"{key} {value}" for key, value in row.items()))
    print(f"wrote {out_dir / 'llm_quant.json'}")
    return 0
