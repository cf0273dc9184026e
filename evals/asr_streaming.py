"""`eco1 eval asr-streaming`: streaming vs segmented recognition, same audio, same run.

Every spoken question (several voices and speeds, evals/harness/speech_samples.py) goes at real time
through the recognizer a session builds, with the project's Silero VAD and smart-turn, once
streaming as a session runs it (interim passes, final pass started at the VAD's first quiet
frame, Whisper on a window cut to the speech), once the same on Whisper's full 30 s window,
and once segmented as stock Pipecat does it (one full-window pass after the VAD's stop), the
order rotating per utterance so the host's noise falls on all three.
Writes evals/results/asr.json and asr.png:

- wer: word error rate of the final transcripts, per design (streaming must be no worse);
- final_after_vad_stop_ms: from the VAD's confirmed stop to the final transcript, p50/p95;
- speculations: early final passes used and voided; interims per utterance.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from tqdm import tqdm

from agent.config import Settings
from evals.asr import word_errors
from evals.harness.plots import BarPanel, bar_panels, save_result
from evals.harness.speech_samples import QUESTIONS, VOICES, speak
from evals.harness.streaming_harness import Recognition, recognize
from evals.latency import percentiles

SPEEDS = (0.8, 1.25)  # slower and faster than the voice's own rate
DESIGNS = ("streaming", "streaming_full_window", "segmented")


def design_settings(design: str) -> Settings:
    """streaming: the defaults; streaming_full_window: the 30 s window; segmented: stock."""
    settings = Settings()
    settings.asr.streaming = design != "segmented"
    if design != "streaming":
        settings.asr.window_s = 0.0
    return settings


async def measure(cases: list[tuple[str, str, Any]]) -> dict[str, list[tuple[str, Recognition]]]:
    out: dict[str, list[tuple[str, Recognition]]] = {name: [] for name in DESIGNS}
    await recognize(cases[0][2], design_settings("segmented"), paced=False)  # warm-up
    for index, (reference, _condition, pcm) in enumerate(tqdm(cases, desc="utterances")):
        shift = index % len(DESIGNS)  # rotate the order so no design always runs first
        for design in DESIGNS[shift:] + DESIGNS[:shift]:
            heard = await recognize(pcm, design_settings(design), paced=True)
            out[design].append((reference, heard))
    return out


def summarize(cases, results) -> dict[str, Any]:
    summary: dict[str, Any] = {
        "utterances": len(cases),
        "conditions": f"{len(QUESTIONS)} questions x voices {', '.join(VOICES)} x speeds "
        f"{'/'.join(map(str, SPEEDS))}, clean, real time through Silero VAD + smart-turn",
        "wer": {},
        "final_after_vad_stop_ms": {},
        "misheard": {},
    }
    for design, pairs in results.items():
        errors = [word_errors(reference, heard.final) for reference, heard in pairs]
        summary["wer"][design] = round(sum(e for e, _ in errors) / sum(n for _, n in errors), 4)
        waits = [h.final_after_vad_stop_ms for _, h in pairs if h.final_after_vad_stop_ms]
        summary["final_after_vad_stop_ms"][design] = percentiles(waits)
        summary["misheard"][design] = [
            {"said": reference, "heard": heard.final, "condition": condition}
            for (reference, heard), (_, condition, _) in zip(pairs, cases, strict=True)
            if word_errors(reference, heard.final)[0]
        ]
    streaming = [heard for _, heard in results["streaming"]]
    summary["speculations"] = {
        "used": sum(h.speculations_used for h in streaming),
        "voided": sum(h.speculations_voided for h in streaming),
    }
    summary["interims_per_utterance"] = round(
        sum(len(h.interims) for h in streaming) / max(1, len(streaming)), 2
    )
    return summary


def run_asr_streaming_eval(out_dir: Path, limit: int | None = None) -> int:
    out_dir.mkdir(parents=True, exist_ok=True)
    cases = [
        (text, f"{voice} x{speed}", speak(text, voice, speed))
        for text, _ in QUESTIONS
        for voice in VOICES
        for speed in SPEEDS
    ][:limit]
    started = time.monotonic()
    summary = summarize(cases, asyncio.run(measure(cases)))
    summary["wall_s"] = round(time.monotonic() - started, 1)
    save_result(out_dir, "asr", summary, plot, ("wer", "final_after_vad_stop_ms", "speculations"))
    return 0


def plot(summary: dict[str, Any], path: Path) -> None:
    waits = summary["final_after_vad_stop_ms"]
    bar_panels(
        path,
        [
            BarPanel("word error rate", summary["wer"], "tab:red"),
            BarPanel(
                "VAD stop → final transcript, ms (p50 bars)",
                {name: w["p50"] for name, w in waits.items()},
                "tab:blue",
                {name: w["p95"] for name, w in waits.items()},
                "p95",
            ),
        ],
        summary["conditions"],
    )
