"""`eco1 eval asr`: word error rate and time of four ways to decode with Whisper.

The project's spoken questions at three speaking rates, clean and with background noise
(20 dB SNR), every decoder on the same audio in the same run: Pipecat's WhisperSTTService
settings (faster-whisper defaults: beam 5, timestamps, conditioning on earlier text), beam 5
without timestamps or conditioning on the full 30 s window, the same on Eco-1's shorter
window (speech/whisper_window.py), and greedy decoding.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import numpy as np
import soxr
from piper import SynthesisConfig
from tqdm import tqdm

from evals.harness.plots import BarPanel, bar_panels, save_result
from evals.harness.speech_samples import QUESTIONS
from evals.latency import percentiles
from speech.asr import shared_whisper_model, transcribe
from speech.assets import piper_voice_file, whisper_model_dir
from speech.tts import shared_piper_voice

SPEEDS = (0.8, 1.0, 1.3)  # Piper length_scale: fast, normal, slow
DECODERS = {  # name: (beam size, timestamps, shortest window in s; 0 = the full 30 s)
    "pipecat_default": (5, True, 0.0),
    "full_window": (5, False, 0.0),
    "eco1": (5, False, 10.0),
    "greedy": (1, False, 0.0),
}


def words(text: str) -> list[str]:
    return re.sub(r"[^a-z0-9' ]", " ", text.lower()).split()


def word_errors(reference: str, hypothesis: str) -> tuple[int, int]:
    """(edit distance in words, reference length)."""
    ref, hyp = words(reference), words(hypothesis)
    row = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        previous, row[0] = row[0], i
        for j, h in enumerate(hyp, 1):
            previous, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, previous + (r != h))
    return row[-1], len(ref)


def samples(seed: int = 3) -> list[tuple[str, str, np.ndarray]]:
    """(reference, condition, 16 kHz int16 audio) for every question, speed and noise."""
    voice = shared_piper_voice(piper_voice_file())
    rng = np.random.default_rng(seed)
    out = []
    for text, _ in QUESTIONS:
        for speed in SPEEDS:
            config = SynthesisConfig(noise_scale=0.0, noise_w_scale=0.0, length_scale=speed)
            pcm = np.concatenate(
                [c.audio_int16_array for c in voice.synthesize(text, syn_config=config)]
            )
            clean = soxr.resample(pcm, voice.config.sample_rate, 16000).astype(np.float32)
            noise = rng.normal(0, np.sqrt(np.mean(clean**2)) / 10, len(clean))  # 20 dB SNR
            for condition, audio in (("clean", clean), ("noisy", clean + noise)):
                out.append(
                    (text, f"{condition} x{speed}", np.clip(audio, -32768, 32767).astype(np.int16))
                )
    return out


def run_asr_eval(out_dir: Path) -> int:
    out_dir.mkdir(parents=True, exist_ok=True)
    model = shared_whisper_model(whisper_model_dir(), "cpu", "int8")
    cases = samples()
    errors = {name: [0, 0] for name in DECODERS}
    timings: dict[str, list[float]] = {name: [] for name in DECODERS}
    misses: dict[str, list[dict[str, str]]] = {name: [] for name in DECODERS}
    transcribe(model, cases[0][2], 5, 0.6)  # warm-up, both windows
    transcribe(model, cases[0][2], 5, 0.6, window_s=10.0)
    for reference, condition, pcm in tqdm(cases, desc="asr cases", unit="case"):
        for name, (beam, timestamps, window) in DECODERS.items():  # same audio, back to back
            started = time.perf_counter()
            heard = transcribe(model, pcm, beam, 0.6, timestamps, window)
            timings[name].append((time.perf_counter() - started) * 1000.0)
            wrong, total = word_errors(reference, heard)
            errors[name][0] += wrong
            errors[name][1] += total
            if wrong:
                misses[name].append({"said": reference, "heard": heard, "condition": condition})
    result: dict[str, Any] = {
        "cases": len(cases),
        "conditions": "8 questions x speeds 0.8/1.0/1.3 x clean/noisy (20 dB SNR), one voice",
        "wer": {name: round(e / max(1, n), 4) for name, (e, n) in errors.items()},
        "ms": {name: percentiles(values) for name, values in timings.items()},
        "misheard": misses,
    }
    save_result(out_dir, "asr_decoding", result, plot, ("wer", "ms"))
    return 0


def plot(result: dict[str, Any], path: Path) -> None:
    p50 = {name: ms["p50"] for name, ms in result["ms"].items()}
    p95 = {name: ms["p95"] for name, ms in result["ms"].items()}
    bar_panels(
        path,
        [
            BarPanel("word error rate", result["wer"], "tab:red"),
            BarPanel("ms per question, p50 bars (tiny.en int8, CPU)", p50, "tab:blue", p95, "p95"),
        ],
        result["conditions"],
    )
