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
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from tqdm import tqdm

from evals.harness.plots import BarPanel, bar_panels
from evals.harness.server_process import ServerProcess
from evals.harness.speech_samples import QUESTIONS, synthesize
from evals.harness.spoken_session import Question, answered, spoken_session
from evals.latency import percentiles

DESIGNS = ("one_process", "process_per_session")


def summarize(records: list[dict[str, Any]], budget_ms: float) -> dict[str, Any]:
    done = answered(records)
    c2a = percentiles([r["stages"]["commit_to_audio_ms"] for r in done])
    return {
        "turns": len(records),
        "failed": len(records) - len(done),
        "commit_to_audio_ms": c2a,
        "v2v_ms": percentiles([r["stages"]["v2v_ms"] for r in done]),
        "within_budget": bool(done) and len(done) == len(records) and c2a["p95"] <= budget_ms,
    }


async def run_level(
    servers: list[ServerProcess], n: int, turns: int, samples: list[Question], bar: tqdm
) -> list[dict[str, Any]]:
    """n learners at once; learner i talks to servers[i % len(servers)] and starts at
    question i."""

    def session(i: int):
        server = servers[i % len(servers)]
        questions = [samples[(i + turn) % len(samples)] for turn in range(turns)]
        return spoken_session(server.base_url, server.token, questions, seed=i, bar=bar)

    per_learner = await asyncio.gather(*(session(i) for i in range(n)))
    return [record for records in per_learner for record in records]


def run_live_sessions_eval(
    out_dir: Path, *, max_sessions: int = 3, turns: int = 4, budget_ms: float = 2000.0
) -> int:
    out_dir.mkdir(parents=True, exist_ok=True)
    logs = out_dir / "live_sessions_logs"
    logs.mkdir(exist_ok=True)
    samples = [(synthesize(text), words) for text, words in QUESTIONS]
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
