"""`eco1 eval live-sessions`: whole sessions at once over real WebRTC, one process for all of
them against a process per session.

Each learner keeps one connection and asks several spoken questions in a row, waiting for the
tutor to finish speaking before the next, with a seeded random pause so that learners drift
in and out of step as they would. Everything a session costs runs: VAD, streaming Whisper,
smart-turn, the LLM, Piper, the motion channel. Levels of 1, 2, 3... learners alternate
between the designs in one run, so host noise hits both. A design holds n sessions when the
p95 commit-to-audio over all its learners' turns stays within the budget; `steal` is how much
a level's p50 grows over the same design's single session.
Writes evals/results/live_sessions.json and live_sessions.png.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import numpy as np
from loguru import logger
from tqdm import tqdm

from evals.latency import percentiles
from evals.plots import BarPanel, bar_panels
from evals.server_process import ServerProcess
from evals.speech_samples import QUESTIONS, synthesize
from evals.webrtc_client import TutorClient

DESIGNS = ("one_process", "process_per_session")


async def learner(
    server: ServerProcess, samples: list[np.ndarray], turns: int, seed: int, bar: tqdm
) -> list[dict[str, float]]:
    """One learner's session: `turns` questions on one connection; per-turn latencies."""
    rng = random.Random(seed)
    client = TutorClient(server.base_url, server.token)
    await client.connect()
    records: list[dict[str, float]] = []
    try:
        for turn in range(turns):
            await asyncio.sleep(rng.uniform(0.2, 2.0))
            speech_end = await client.say(samples[(seed + turn) % len(samples)])
            try:
                first_audio = await client.wait_audio_after(speech_end, 60)
                latency = await client.wait_event("latency", 20, after=speech_end)
                await client.wait_event(
                    "speaking", 90, after=first_audio, role="tutor", speaking=False
                )
            except TimeoutError as exc:
                logger.warning("learner {} turn {}: {}", seed, turn, exc)
                records.append({"failed": 1.0})
                bar.update(1)
                continue
            stages = latency["stages"]
            records.append({
                "commit_to_audio_ms": stages.get("commit_to_audio_ms", float("nan")),
                "v2v_ms": (first_audio - speech_end) * 1000.0,
            })  # fmt: skip
            bar.update(1)
    finally:
        await client.close()
    return records


def summarize(records: list[dict[str, float]], budget_ms: float) -> dict[str, Any]:
    answered = [r for r in records if "failed" not in r]
    c2a = percentiles([r["commit_to_audio_ms"] for r in answered])
    return {
        "turns": len(records),
        "failed": len(records) - len(answered),
        "commit_to_audio_ms": c2a,
        "v2v_ms": percentiles([r["v2v_ms"] for r in answered]),
        "within_budget": bool(answered) and len(answered) == len(records)
        and c2a["p95"] <= budget_ms,
    }  # fmt: skip


async def run_level(
    servers: list[ServerProcess], n: int, turns: int, samples: list[np.ndarray], bar: tqdm
) -> list[dict[str, float]]:
    """n learners at once; learner i talks to servers[i % len(servers)]."""
    per_learner = await asyncio.gather(
        *(learner(servers[i % len(servers)], samples, turns, i, bar) for i in range(n))
    )
    return [record for records in per_learner for record in records]


def run_live_sessions_eval(
    out_dir: Path, *, max_sessions: int = 3, turns: int = 4, budget_ms: float = 2000.0
) -> int:
    out_dir.mkdir(parents=True, exist_ok=True)
    logs = out_dir / "live_sessions_logs"
    logs.mkdir(exist_ok=True)
    samples = [synthesize(text) for text, _words in QUESTIONS]
    levels = range(1, max_sessions + 1)
    started = time.time()
    with ExitStack() as stack:
        # One server per design process, started one after another so that their start-up
        # read-ahead of the knowledge base does not overlap and is over before any turn.
        def start(name: str) -> ServerProcess:
            server = stack.enter_context(ServerProcess(log_path=logs / f"{name}.log"))
            server.wait_read_ahead()
            return server

        shared = start("one_process")
        workers = [start(f"session_process_{i}") for i in range(max_sessions)]
        layouts = {"one_process": [shared], "process_per_session": workers}
        results: dict[str, dict[str, Any]] = {design: {} for design in DESIGNS}
        total = 2 * sum(levels) * turns
        with tqdm(total=total, desc="live sessions", unit="turn") as bar:
            for n in levels:
                order = DESIGNS if n % 2 else DESIGNS[::-1]  # alternate who goes first
                for design in order:
                    records = asyncio.run(run_level(layouts[design], n, turns, samples, bar))
                    results[design][str(n)] = summarize(records, budget_ms)
        rss_mb = {"one_process": round(shared.rss_mb()),
                  "process_per_session": round(sum(w.rss_mb() for w in workers))}  # fmt: skip
    held = {
        design: max([n for n in levels if by_n[str(n)]["within_budget"]], default=0)
        for design, by_n in results.items()
    }
    steal = {
        design: {
            n: round(by_n[n]["commit_to_audio_ms"]["p50"] - by_n["1"]["commit_to_audio_ms"]["p50"])
            for n in by_n
        }
        for design, by_n in results.items()
    }
    result = {
        "budget_ms": budget_ms,
        "turns_per_learner": turns,
        "sessions_held": held,
        "steal_p50_commit_to_audio_ms": steal,
        "rss_mb_at_end": rss_mb,
        "wall_s": round(time.time() - started, 1),
        "levels": results,
    }
    (out_dir / "live_sessions.json").write_text(json.dumps(result, indent=2) + "\n")
    plot(result, out_dir / "live_sessions.png")
    headline = ("sessions_held", "steal_p50_commit_to_audio_ms", "rss_mb_at_end")
    print(json.dumps({key: result[key] for key in headline}))
    print(f"wrote {out_dir / 'live_sessions.json'}")
    return 0


def plot(result: dict[str, Any], path: Path) -> None:
    levels, budget = result["levels"], result["budget_ms"]
    panels = [
        BarPanel(
            f"{stage.removesuffix('_ms')} p95 (ms), {n} learner(s)",
            {design.replace("_", " "): levels[design][n][stage]["p95"] for design in DESIGNS},
            color="tab:blue" if stage == "commit_to_audio_ms" else "tab:orange",
            markers={design.replace("_", " "): budget for design in DESIGNS}
            if stage == "commit_to_audio_ms"
            else {},
            marker_label="budget",
        )  # fmt: skip
        for stage in ("commit_to_audio_ms", "v2v_ms")
        for n in levels[DESIGNS[0]]
    ]
    bar_panels(path, panels, "Whole sessions over WebRTC: one process vs a process per session",
               width=4.0 * len(panels))  # fmt: skip
