"""`eco1 eval sessions`: how many sessions this host holds within budget, by LLM contexts.

Each design answers the same questions from 1, 2 and 3 concurrent sessions (the committed
turn onward: retrieval, the embedded LLM, Piper; no thinking), one design after the other in
the same run. With one llama.cpp context a session's first clause waits for the other
sessions' whole answers; with a pool (`llm.instances`) they generate side by side.
Writes evals/results/sessions.json and sessions.png.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

from loguru import logger
from tqdm import tqdm

from agent.config import Settings
from agent.turn.assembly import build_turn_compute
from evals.controller import Level, load_questions, run_level, summarize
from evals.harness.plots import BarPanel, bar_panels
from evals.harness.turn_harness import model_answered

INSTANCES = (1, 2)
SESSIONS = (1, 2, 3)


def design_settings(settings: Settings, instances: int) -> Settings:
    settings = model_answered(settings)  # the llama.cpp contexts are what is measured
    return settings.model_copy(
        update={
            "llm": settings.llm.model_copy(update={"instances": instances}),
            "controller": settings.controller.model_copy(update={"enabled": False}),
        }
    )


def run_sessions_eval(settings: Settings, out_dir: Path, questions: int = 8) -> int:
    out_dir.mkdir(parents=True, exist_ok=True)
    budget = settings.controller.budget_ms
    items = load_questions(questions)

    async def main() -> dict[str, dict[str, Any]]:
        results: dict[str, dict[str, Any]] = {str(i): {} for i in INSTANCES}
        designs = {}
        for instances in INSTANCES:
            design = design_settings(settings, instances)
            designs[instances] = (design, build_turn_compute(design))
            await designs[instances][1].backends["embedded"].warm_up()
        total = len(INSTANCES) * sum(SESSIONS) * len(items)
        with tqdm(total=total, desc="sessions", unit="turn") as bar:
            for n in SESSIONS:  # designs interleaved per level, so host drift hits both
                for instances, (design, compute) in designs.items():
                    turns = await run_level(design, compute, Level(n, False), items, bar)
                    results[str(instances)][str(n)] = summarize(turns)
        return results

    started = time.time()
    levels = asyncio.run(main())
    held = {
        design: max([n for n in SESSIONS if by_n[str(n)]["p95_commit_to_audio_ms"] <= budget],
                    default=0)
        for design, by_n in levels.items()
    }  # fmt: skip
    result = {
        "budget_ms": budget,
        "sessions_held": held,
        "p95_commit_to_audio_ms": {
            design: {n: by_n[n]["p95_commit_to_audio_ms"] for n in by_n}
            for design, by_n in levels.items()
        },
        "questions_per_session": len(items),
        "wall_s": round(time.time() - started, 1),
        "levels": levels,
    }
    (out_dir / "sessions.json").write_text(json.dumps(result, indent=2) + "\n")
    panels = [
        BarPanel(f"p95 commit_to_audio (ms), {n} session(s)",
                 {f"{d} context(s)": levels[d][str(n)]["p95_commit_to_audio_ms"] for d in levels},
                 markers={f"{d} context(s)": budget for d in levels}, marker_label="budget")
        for n in SESSIONS
    ]  # fmt: skip
    bar_panels(out_dir / "sessions.png", panels, "Sessions on one host by llama.cpp contexts")
    logger.info("wrote {}", out_dir / "sessions.json")
    print(json.dumps({k: result[k] for k in ("budget_ms", "sessions_held",
                                             "p95_commit_to_audio_ms")}))  # fmt: skip
    return 0
