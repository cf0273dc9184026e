"""`eco1 eval controller`: the HLLM controller against static settings under rising load.

1. Calibration (one session, every question of evals/data/tutor_questions.json): quality and
   commit_to_audio of no thinking, thinking at each budget, and one critique round. Quality is
   keyword recall and MiniLM similarity to the reference answer, averaged.
2. Sweep: the same questions asked by 1..N concurrent sessions, then again with a CPU-burning
   process beside them (a slowdown the cost model is not told about), for never_think,
   always_think (the largest budget), the controller calibrated with the measured quality
   ("hllm"), and the controller with the configured prior gains ("hllm_prior").

Writes evals/results/controller.json and controller.png.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
from loguru import logger
from tqdm import tqdm

from agent.config import Settings
from agent.controller.controller import HLLMController
from agent.controller.decision import ComputeDecision
from agent.retrieval.index import embed
from agent.turn.assembly import build_turn_compute, controller_params
from agent.turn.compute import TurnCompute
from evals.harness.plots import BarPanel, bar_panels
from evals.harness.turn_harness import TurnHarness, model_answered

QUESTIONS = Path(__file__).resolve().parent / "data" / "tutor_questions.json"
HOG = "import time\nwhile True:\n    sum(range(10000))\n"


@dataclass(frozen=True)
class Level:
    sessions: int
    slowdown: bool

    @property
    def name(self) -> str:
        return f"{self.sessions}x{'+cpu' if self.slowdown else ''}"


LEVELS = [Level(1, False), Level(2, False), Level(3, False), Level(1, True), Level(2, True)]
QUICK_LEVELS = [Level(1, False), Level(2, True)]


def load_questions(limit: int | None = None) -> list[dict[str, Any]]:
    questions = json.loads(QUESTIONS.read_text())
    return questions[:limit] if limit else questions


def answer_quality(answer: str, item: dict[str, Any]) -> dict[str, float]:
    """Keyword recall and embedding similarity against the reference, and their mean."""
    text = answer.lower()
    recall = sum(word in text for word in item["keywords"]) / len(item["keywords"])
    vectors = embed([answer or " ", item["answer"]])
    similarity = float(np.clip(vectors[0] @ vectors[1], 0.0, 1.0))
    return {"recall": recall, "similarity": similarity, "quality": (recall + similarity) / 2}


def p95(values: list[float]) -> float:
    return round(float(np.percentile(values, 95)), 1) if values else float("nan")


def summarize(turns: list[dict[str, Any]]) -> dict[str, Any]:
    latencies = [t["latency_ms"] for t in turns]
    decisions: dict[str, int] = {}
    for t in turns:
        decisions[t["decision"]] = decisions.get(t["decision"], 0) + 1
    return {
        "turns": len(turns),
        "p50_commit_to_audio_ms": round(float(np.percentile(latencies, 50)), 1),
        "p95_commit_to_audio_ms": p95(latencies),
        "quality": round(float(np.mean([t["quality"] for t in turns])), 3),
        "recall": round(float(np.mean([t["recall"] for t in turns])), 3),
        "similarity": round(float(np.mean([t["similarity"] for t in turns])), 3),
        "decisions": decisions,
    }


async def run_session(
    settings: Settings, compute: TurnCompute, session_id: str, items: list[dict[str, Any]],
    progress: tqdm,
) -> list[dict[str, Any]]:  # fmt: skip
    turns = []
    async with TurnHarness(settings, compute, session_id) as harness:
        for item in items:
            latency, answer = await harness.ask(item["question"])
            decision = compute.last_decisions.get(session_id, compute.fixed)
            turns.append({"latency_ms": latency, "decision": decision.name,
                          **answer_quality(answer, item)})  # fmt: skip
            progress.update(1)
    return turns


async def run_level(
    settings: Settings, compute: TurnCompute, level: Level, items: list[dict[str, Any]],
    progress: tqdm,
) -> list[dict[str, Any]]:  # fmt: skip
    """Every session asks all items (each starting at a different one) at the same time."""
    hog = subprocess.Popen([sys.executable, "-c", HOG]) if level.slowdown else None
    try:
        sessions = [
            run_session(settings, compute, f"{level.name}-{i}",
                        items[i % len(items):] + items[: i % len(items)], progress)
            for i in range(level.sessions)
        ]  # fmt: skip
        compute.live_sessions = level.sessions
        results = await asyncio.gather(*sessions)
    finally:
        if hog is not None:
            hog.kill()
            hog.wait()
    return [turn for turns in results for turn in turns]


def measured_gains(calibration: dict[str, dict[str, Any]]) -> dict[str, float]:
    """Loss multipliers relative to no thinking, as the controller's quality prior wants."""
    base = 1.0 - calibration["never_think"]["quality"]
    gains = {}
    for name, summary in calibration.items():
        if name != "never_think" and base > 0:
            gains[name.replace("think_", "think:").replace("critique_", "critique:")] = round(
                (1.0 - summary["quality"]) / base, 3
            )
    return gains


async def calibrate(
    settings: Settings, base: TurnCompute, statics: dict[str, ComputeDecision], items: list
) -> dict[str, Any]:
    """Each fixed decision on every question, one session: what each decision is worth."""
    calibration = {}
    with tqdm(total=len(items) * len(statics), desc="calibration", unit="turn") as bar:
        for name, decision in statics.items():
            compute = with_policy(base, fixed=decision)
            turns = await run_level(settings, compute, Level(1, False), items, bar)
            calibration[name] = summarize(turns)
    return calibration


async def load_sweep(
    settings: Settings, policies: dict[str, TurnCompute], levels: list, items: list
) -> dict[str, dict[str, Any]]:
    """Each policy at each load level: latency and quality as sessions are added."""
    sweep: dict[str, dict[str, Any]] = {}
    total = len(policies) * sum(level.sessions for level in levels) * len(items)
    with tqdm(total=total, desc="load sweep", unit="turn") as bar:
        for name, compute in policies.items():
            every = []
            sweep[name] = {}
            for level in levels:
                turns = await run_level(settings, compute, level, items, bar)
                sweep[name][level.name] = summarize(turns)
                every += turns
            sweep[name]["all"] = summarize(every)
            if compute.controller is not None:
                sweep[name]["final_lambda_latency"] = round(compute.controller.duals.latency, 3)
    return sweep


def run_controller_eval(
    settings: Settings, out_dir: Path, *, quick: bool = False, budget_ms: float | None = None
) -> int:
    out_dir.mkdir(parents=True, exist_ok=True)
    if budget_ms is not None:
        settings = settings.model_copy(
            update={"controller": settings.controller.model_copy(update={"budget_ms": budget_ms})}
        )
    settings = model_answered(settings)  # the controller prices turns a model answers
    budget = settings.controller.budget_ms
    think_max = max(settings.controller.think_budgets)
    items = load_questions(3 if quick else None)
    sweep_items = items[:2] if quick else items[:4]
    levels = QUICK_LEVELS if quick else LEVELS
    static_settings = settings.controller.model_copy(update={"enabled": False})
    base = build_turn_compute(settings.model_copy(update={"controller": static_settings}))
    statics = {"never_think": ComputeDecision(0)} | {
        f"think_{t}": ComputeDecision(t) for t in settings.controller.think_budgets if t
    } | {"critique_1": ComputeDecision(0, critique_rounds=1)}  # fmt: skip

    async def main() -> dict[str, Any]:
        calibration = await calibrate(settings, base, statics, items)
        gains = measured_gains(calibration)
        policies = {
            "never_think": with_policy(base, fixed=ComputeDecision(0)),
            "always_think": with_policy(base, fixed=ComputeDecision(think_max)),
            "hllm": with_policy(base, controller=make_controller(settings, base, gains)),
            "hllm_prior": with_policy(base, controller=make_controller(settings, base, None)),
        }
        sweep = await load_sweep(settings, policies, levels, sweep_items)
        return {"calibration": calibration, "measured_gains": gains, "sweep": sweep}

    started = time.time()
    parts = asyncio.run(main())
    sweep = parts["sweep"]
    policies = ("hllm", "always_think", "never_think", "hllm_prior")
    result = {
        "budget_ms": budget,
        "p95_commit_to_audio_ms": {p: sweep[p]["all"]["p95_commit_to_audio_ms"] for p in policies},
        "quality": {p: sweep[p]["all"]["quality"] for p in policies},
        "within_budget": {
            p: sweep[p]["all"]["p95_commit_to_audio_ms"] <= budget for p in policies
        },  # fmt: skip
        "levels": [level.name for level in levels],
        "questions": len(items),
        "sweep_questions_per_session": len(sweep_items),
        "model": "SmolLM2-135M-Instruct Q4_1 (llama.cpp, 1 thread)",
        "wall_s": round(time.time() - started, 1),
        **parts,
    }
    (out_dir / "controller.json").write_text(json.dumps(result, indent=2) + "\n")
    plot(out_dir / "controller.png", result)
    logger.info("wrote {}", out_dir / "controller.json")
    print(json.dumps({k: result[k] for k in ("budget_ms", "p95_commit_to_audio_ms", "quality")}))
    return 0


def with_policy(
    base: TurnCompute,
    *,
    fixed: ComputeDecision = ComputeDecision(),
    controller: HLLMController | None = None,
) -> TurnCompute:
    """A TurnCompute sharing base's index and backends, with its own policy."""
    return TurnCompute(
        base.backends, controller=controller, index=base.index, retrieval_k=base.retrieval_k,
        min_score=base.min_score, fixed=fixed,
    )  # fmt: skip


def make_controller(
    settings: Settings, base: TurnCompute, gains: dict[str, float] | None
) -> HLLMController:
    params = controller_params(settings, list(base.backends), settings.controller.experts[:1])
    if gains is not None:
        params = replace(params, quality_gains=gains)
    return HLLMController(params)


def plot(path: Path, result: dict[str, Any]) -> None:
    sweep = result["sweep"]
    names = list(result["p95_commit_to_audio_ms"])
    panels = [
        BarPanel(f"p95 commit_to_audio (ms), budget {result['budget_ms']:.0f}",
                 result["p95_commit_to_audio_ms"], markers={n: result["budget_ms"] for n in names},
                 marker_label="budget"),
        BarPanel("answer quality (recall + similarity) / 2", result["quality"], color="tab:green"),
    ] + [
        BarPanel(f"p95 at {level}", {n: sweep[n][level]["p95_commit_to_audio_ms"] for n in names},
                 color="tab:orange")
        for level in result["levels"][-2:]
    ]  # fmt: skip
    bar_panels(path, panels, "HLLM controller vs static thinking settings (this host)", 16.0)
