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

from agent.config import Settings
from agent.llm.requantize import KINDS, requantized
from speech.assets import smollm2_gguf

KB_DIR = Path(__file__).resolve().parents[1] / "agent" / "retrieval" / "kb"
PROMPT_TOKENS = 256
DECODE_TOKENS = 32


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


def speeds(llama, text: str) -> tuple[float, float]:
    """Prompt tokens read per second (best of 3) and tokens decoded per second (median)."""
    tokens = llama.tokenize(text.encode())[:PROMPT_TOKENS]
    reads = []
    for _ in range(3):
        llama.reset()
        started = time.perf_counter()
        llama.eval(tokens)
        reads.append(time.perf_counter() - started)
    llama.reset()
    llama.eval(tokens[:8])
    steps = []
    for token in tokens[8 : 8 + DECODE_TOKENS]:
        started = time.perf_counter()
        llama.eval([token])
        steps.append(time.perf_counter() - started)
    return len(tokens) / min(reads), 1.0 / statistics.median(steps)


def measure(path: Path, settings: Settings, texts: list[str]) -> dict[str, Any]:
    from llama_cpp import Llama

    llm = settings.llm
    common = dict(model_path=str(path), n_threads=llm.threads, verbose=False,
                  n_threads_batch=llm.batch_threads or None)  # fmt: skip
    fast = Llama(n_ctx=1024, **common)
    read, decode = speeds(fast, " ".join(texts))
    del fast
    nll, scored = negative_log_likelihood(Llama(n_ctx=1024, logits_all=True, **common), texts)
    return {
        "file_mb": round(path.stat().st_size / 1e6, 1),
        "prompt_tokens_per_s": round(read),
        "decode_tokens_per_s": round(decode, 1),
        "perplexity": round(float(np.exp(nll)), 3),
        "tokens_scored": scored,
    }


def run_llm_quant_eval(settings: Settings, out_dir: Path) -> int:
    out_dir.mkdir(parents=True, exist_ok=True)
    source = smollm2_gguf(settings.llm.model_path)
    texts = [path.read_text() for path in sorted(KB_DIR.glob("*.md"))]
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="eco1-quant-") as cache:
        for kind in tqdm(KINDS, desc="quantizations"):
            started = time.perf_counter()
            path = requantized(source, kind, Path(cache))
            converted_s = time.perf_counter() - started
            results[kind] = {"convert_s": round(converted_s, 2), **measure(path, settings, texts)}
    result = {
        "source": source.name,
        "default": settings.llm.requantize,
        "threads": settings.llm.threads,
        "batch_threads": settings.llm.batch_threads,
        "kinds": results,
    }
    (out_dir / "llm_quant.json").write_text(json.dumps(result, indent=2) + "\n")
    for kind, row in results.items():
        print(f"{kind:5s} " + ", ".join(f"{key} {value}" for key, value in row.items()))
    print(f"wrote {out_dir / 'llm_quant.json'}")
    return 0
