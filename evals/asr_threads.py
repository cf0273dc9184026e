"""`eco1 eval asr-threads`: one Whisper call's time and word error rate per CPU thread count.

CTranslate2 runs a call on 4 threads unless told otherwise, whatever the host has. The same 48
spoken questions as `eco1 eval asr` (8 questions x 3 speaking rates x clean/noisy) go through
Eco-1's decoder (beam 5 on the shorter window) once per thread count, the counts back to
back on each case in a rotating order, so the host's noise falls on all of them alike.
`asr.cpu_threads` 0 picks `whisper_threads()`: one per core, at most four.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from tqdm import tqdm

from evals.asr import DECODERS, samples, word_errors
from evals.harness.plots import BarPanel, bar_panels, save_result
from evals.latency import percentiles
from speech.asr import shared_whisper_model, transcribe, whisper_threads
from speech.assets import whisper_model_dir


def thread_counts() -> list[int]:
    """1, 2, 4 and the host's cores (at most 16), each once."""
    return sorted({1, 2, 4, min(16, os.cpu_count() or 1)})


def run_asr_threads_eval(out_dir: Path) -> int:
    out_dir.mkdir(parents=True, exist_ok=True)
    beam, _, window = DECODERS["eco1"]
    counts = thread_counts()
    models = {n: shared_whisper_model(whisper_model_dir(), "cpu", "int8", cpu_threads=n)
              for n in counts}  # fmt: skip
    cases = samples()
    for model in models.values():  # warm-up
        transcribe(model, cases[0][2], beam, 0.6, window_s=window)
    timings: dict[int, list[float]] = {n: [] for n in counts}
    errors = {n: [0, 0] for n in counts}
    heard: dict[int, list[str]] = {n: [] for n in counts}
    for index, (reference, _, pcm) in enumerate(tqdm(cases, desc="asr threads", unit="case")):
        order = counts[index % len(counts) :] + counts[: index % len(counts)]
        for n in order:
            started = time.perf_counter()
            text = transcribe(models[n], pcm, beam, 0.6, window_s=window)
            timings[n].append((time.perf_counter() - started) * 1000.0)
            wrong, total = word_errors(reference, text)
            errors[n][0] += wrong
            errors[n][1] += total
            heard[n].append(text)
    result: dict[str, Any] = {
        "cases": len(cases),
        "cores": os.cpu_count(),
        "default_threads": whisper_threads(),
        "decoder": "beam 5, no timestamps, >= 10 s window (Eco-1's)",
        "ms": {str(n): percentiles(values) for n, values in timings.items()},
        "wer": {str(n): round(e / max(1, t), 4) for n, (e, t) in errors.items()},
        "same_text_as_4_threads": {
            str(n): sum(a == b for a, b in zip(heard[n], heard[4], strict=True)) for n in counts
        },
    }
    save_result(out_dir, "asr_threads", result, plot, ("cores", "ms", "wer"))
    return 0


def plot(result: dict[str, Any], path: Path) -> None:
    p50 = {f"{n} thr": ms["p50"] for n, ms in result["ms"].items()}
    p95 = {f"{n} thr": ms["p95"] for n, ms in result["ms"].items()}
    wer = {f"{n} thr": value for n, value in result["wer"].items()}
    bar_panels(
        path,
        [
            BarPanel("ms per question, p50 bars", p50, "tab:blue", p95, "p95"),
            BarPanel("word error rate", wer, "tab:red"),
        ],
        f"Whisper tiny.en int8 on {result['cores']} CPU cores, per thread count "
        f"({result['cases']} spoken questions)",
    )
