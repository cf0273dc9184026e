"""`eco1 eval tts-threads`: an answer's first clause through Piper, per ONNX Runtime threading,
alone and beside the LLM decoding.

In the service the first clause is synthesized while the learner waits, and the LLM's
generation thread (paused by the first-audio gate, but only after the tokens already in
flight) and the event loop want the same cores. ONNX Runtime's default session runs one
intra-op thread per physical core and lets idle pool threads spin. The same opening clauses
go through one voice per threading, back to back in a rotating order, first alone and then
while the embedded LLM decodes token after token in a thread (llm.threads threads, as in a
turn); beside the time of each clause, the tokens per second the LLM kept while it ran.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Any

from tqdm import tqdm

from agent.backends.requantize import requantized
from agent.config import Settings
from evals.harness.plots import BarPanel, bar_panels, save_result
from evals.latency import percentiles
from evals.llm_quant import load
from speech.assets import piper_voice_file, smollm2_gguf
from speech.piper_voice import PiperThreads, load_piper_voice

# Openings in the shape the tutor's answers begin with (first_clause_words = 4).
CLAUSES = (
    "Gravity is a force",
    "Photosynthesis is how plants",
    "Great question, sound travels",
    "The water cycle moves",
    "Electricity flows through wires",
    "A volcano forms when",
    "Plants need sunlight because",
    "The moon has phases",
)
ROUNDS = 3
THREADINGS = {
    "default": PiperThreads(),
    "no spin": PiperThreads(spin=False),
    "1 thread": PiperThreads(threads=1),
}


class BusyDecoder:
    """The embedded LLM decoding one token at a time in a thread; counts its steps."""

    def __init__(self, settings: Settings) -> None:
        llm = settings.llm
        path = requantized(smollm2_gguf(llm.model_path), llm.requantize, llm.model_cache_dir)
        self._llama = load(path, settings)  # the service's threads, as llm-quant measures
        self._prompt = self._llama.tokenize(b"The water cycle is the path that water takes")
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="busy-decoder", daemon=True)
        self.steps = 0

    def _run(self) -> None:
        while not self._stop.is_set():
            self._llama.reset()
            self._llama.eval(self._prompt)
            token = self._prompt[-1]
            for _ in range(400):  # well inside the context, then start again
                if self._stop.is_set():
                    return
                self._llama.eval([token])
                self.steps += 1

    def __enter__(self) -> BusyDecoder:
        self._thread.start()
        time.sleep(0.5)  # past the prompt
        return self

    def __exit__(self, *_exc) -> None:
        self._stop.set()
        self._thread.join()


def first_chunk_ms(voice, text: str) -> float:
    """Milliseconds until the clause's first audio chunk (the whole clause: one sentence)."""
    started = time.perf_counter()
    next(iter(voice.synthesize(text, include_alignments=True)))
    return (time.perf_counter() - started) * 1000.0


def measure(voices: dict, decoder: BusyDecoder | None, desc: str) -> dict[str, Any]:
    """Each clause through every voice ROUNDS times, the order rotating per case."""
    names = list(voices)
    timings: dict[str, list[float]] = {name: [] for name in names}
    steps: dict[str, int] = {name: 0 for name in names}
    cases = [text for _ in range(ROUNDS) for text in CLAUSES]
    for index, text in enumerate(tqdm(cases, desc=desc, unit="clause")):
        for name in names[index % len(names) :] + names[: index % len(names)]:
            before = decoder.steps if decoder else 0
            ms = first_chunk_ms(voices[name], text)
            timings[name].append(ms)
            steps[name] += (decoder.steps - before) if decoder else 0
    result: dict[str, Any] = {"ms": {name: percentiles(values) for name, values in timings.items()}}
    if decoder:  # tokens the LLM decoded while that threading synthesized, per second of it
        result["llm_tokens_per_s"] = {
            name: round(steps[name] * 1000.0 / sum(timings[name]), 1) for name in names
        }
    return result


def run_tts_threads_eval(out_dir: Path) -> int:
    out_dir.mkdir(parents=True, exist_ok=True)
    settings = Settings()
    voice_file = piper_voice_file(settings.tts.voice_path)
    voices = {name: load_piper_voice(voice_file, threads=t) for name, t in THREADINGS.items()}
    for voice in voices.values():  # warm-up: arenas grown, espeak loaded
        first_chunk_ms(voice, CLAUSES[0])
    alone = measure(voices, None, "piper alone")
    decoder = BusyDecoder(settings)
    with decoder:
        idle_started, idle_steps = time.perf_counter(), decoder.steps
        time.sleep(2.0)
        llm_alone = (decoder.steps - idle_steps) / (time.perf_counter() - idle_started)
        beside = measure(voices, decoder, "piper beside the LLM")
    result = {
        "cores": os.cpu_count(),
        "clauses": len(CLAUSES) * ROUNDS,
        "threadings": {name: vars(t) for name, t in THREADINGS.items()},
        "llm_threads": settings.llm.threads,
        "llm_tokens_per_s_alone": round(llm_alone, 1),
        "alone": alone,
        "beside_llm": beside,
    }
    save_result(out_dir, "tts_threads", result, plot, ("alone", "beside_llm"))
    return 0


def p50_panel(title: str, ms: dict[str, dict], color: str) -> BarPanel:
    return BarPanel(title, {n: v["p50"] for n, v in ms.items()}, color,
                    {n: v["p95"] for n, v in ms.items()}, "p95")  # fmt: skip


def plot(result: dict[str, Any], path: Path) -> None:
    beside = result["beside_llm"]
    bar_panels(
        path,
        [
            p50_panel("ms per clause alone, p50 bars", result["alone"]["ms"], "tab:blue"),
            p50_panel("ms per clause beside the LLM", beside["ms"], "tab:orange"),
            BarPanel("LLM tokens/s meanwhile", beside["llm_tokens_per_s"], "tab:green"),
        ],
        f"Piper first clauses on {result['cores']} CPU cores per ONNX Runtime threading "
        f"({result['clauses']} clauses; the LLM alone: {result['llm_tokens_per_s_alone']} tok/s)",
        width=12.0,
    )
