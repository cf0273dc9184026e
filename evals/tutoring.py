"""`eco1 eval tutoring`: does the tutor say right things, and stay on the topic?

Side by side in one run, through MCP `ask`'s turn (the same turn logic as a live session):

- `eco1`: the curriculum turn (tutoring.grounded = true), the shipped defaults;
- `baseline`: every turn to the embedded model with retrieval's notes in the prompt, as the
  tutor answered before the curriculum (tutoring.grounded = false).

Parts: `factual` (covered questions scored correct / wrong / abstained against what a right
answer must say, evals/data/tutoring_questions.py; uncovered ones, where any answer not
marked as unsure counts as confidently given, an upper bound on confidently wrong) and
`follow_ups` (scripted conversations: each turn on the expected concept, and right).
Not in this run yet: the spoken sample, simulated learners (they need the per-concept
learner model) and latency (`eco1 eval latency`). Writes evals/results/tutoring.json + PNG.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from tqdm import tqdm

from agent.config import Settings
from evals.data.tutoring_questions import COVERED, FOLLOW_UPS, UNCOVERED
from evals.harness.plots import BarPanel, bar_panels, save_result

UNSURE = ("i'm not sure", "rather not guess", "i'm not certain", "i don't know", "not sure about")


def verdict(answer: str, must: list[list[str]]) -> str:
    """'abstained' when the answer says it is unsure, else 'correct' when every group of
    `must` has a phrase in it, else 'wrong'."""
    text = answer.lower()
    if any(marker in text for marker in UNSURE):
        return "abstained"
    if all(any(phrase in text for phrase in group) for group in must):
        return "correct"
    return "wrong"


def shares(verdicts: list[str]) -> dict[str, float]:
    n = max(1, len(verdicts))
    return {k: round(verdicts.count(k) / n, 4) for k in ("correct", "wrong", "abstained")} | {
        "n": len(verdicts)
    }


def tutor_for(settings: Settings, grounded: bool):
    from agent.session.text_tutor import TextTutor

    variant = settings.model_copy(deep=True)
    variant.tutoring.grounded = grounded
    return TextTutor(variant)


async def ask(tutor, question: str, conversation: str) -> dict[str, Any]:
    started = time.perf_counter()
    reply = await tutor.ask(question, conversation, motion=False)
    reply["seconds"] = time.perf_counter() - started
    return reply


def answered(reply: dict[str, Any]) -> str:
    """What answers the learner's words: without the part the planner's action added (a
    check question, an example), which is curriculum text and must not make up for it."""
    return reply.get("main") or reply["answer"]


async def factual(tutor, name: str, limit: int | None) -> dict[str, Any]:
    covered = COVERED[:limit] if limit else COVERED
    uncovered = UNCOVERED[: max(1, limit // 5)] if limit else UNCOVERED
    rows, seconds = [], []
    for n, (question, must) in enumerate(tqdm(covered, desc=f"{name} covered", leave=False)):
        reply = await ask(tutor, question, f"{name}-c{n}")
        seconds.append(reply["seconds"])
        judged = verdict(answered(reply), must)
        rows.append({"question": question, "answer": reply["answer"],
                     "mode": reply.get("mode"), "verdict": judged})  # fmt: skip
    outside = []
    for n, question in enumerate(tqdm(uncovered, desc=f"{name} uncovered", leave=False)):
        reply = await ask(tutor, question, f"{name}-u{n}")
        seconds.append(reply["seconds"])
        confident = verdict(reply["answer"], []) != "abstained"
        outside.append({"question": question, "answer": reply["answer"], "confident": confident})
    covered_shares = shares([row["verdict"] for row in rows])
    return {
        "covered": covered_shares,
        "confidently_wrong": covered_shares["wrong"],
        "uncovered_confident": round(sum(o["confident"] for o in outside) / len(outside), 4),
        "uncovered_n": len(outside),
        "answer_seconds_p50": round(sorted(seconds)[len(seconds) // 2], 3),
        "wrong_examples": [r for r in rows if r["verdict"] == "wrong"][:40],
        "by_question": {r["question"]: r["verdict"] for r in rows},
        "uncovered_answered": [o for o in outside if o["confident"]][:20],
    }


async def follow_ups(tutor, name: str, limit: int | None) -> dict[str, Any]:
    scripts = FOLLOW_UPS[: max(1, limit // 7)] if limit else FOLLOW_UPS
    on_concept, right, misses = [], [], []
    for n, script in enumerate(tqdm(scripts, desc=f"{name} follow-ups", leave=False)):
        for said, concept, must in script:
            reply = await ask(tutor, said, f"{name}-f{n}")
            held = verdict(answered(reply), must) == "correct"
            right.append(held)
            if concept:
                on = reply.get("concept") == concept if "concept" in reply else None
                on_concept.append(held if on is None else on)
            if not held:
                misses.append({"said": said, "expected": concept, "answer": reply["answer"],
                               "concept": reply.get("concept")})  # fmt: skip
    return {
        "conversations": len(scripts),
        "turns": len(right),
        "on_concept": round(sum(on_concept) / max(1, len(on_concept)), 4),
        "correct": round(sum(right) / max(1, len(right)), 4),
        "misses": misses[:40],
    }


async def evaluate(settings: Settings, limit: int | None) -> dict[str, Any]:
    result: dict[str, Any] = {"questions": {"covered": len(COVERED), "uncovered": len(UNCOVERED),
                                            "conversations": len(FOLLOW_UPS)}}  # fmt: skip
    for name, grounded in (("eco1", True), ("baseline", False)):
        tutor = tutor_for(settings, grounded)
        result[name] = {
            "factual": await factual(tutor, name, limit),
            "follow_ups": await follow_ups(tutor, name, limit),
        }
    from agent.tutoring.curriculum import load_curriculum
    from evals.teaching import run_teaching
    from planner.model import load_tutoring_model

    result["teaching"] = teaching = run_teaching(load_tutoring_model(), load_curriculum())
    gain = teaching["learning_gain"]
    eco = result["eco1"]
    result["goals"] = {
        "covered_correct>=0.95": eco["factual"]["covered"]["correct"] >= 0.95,
        "covered_confidently_wrong<=0.01": eco["factual"]["confidently_wrong"] <= 0.01,
        "uncovered_confident<=0.05": eco["factual"]["uncovered_confident"] <= 0.05,
        "follow_ups_on_concept>=0.90": eco["follow_ups"]["on_concept"] >= 0.90,
        "efe_gain>greedy": gain["efe"] > gain["greedy"],
        "efe_gain>=1.2x_script": gain["efe"] >= 1.2 * gain["fixed_script"],
    }
    result["not_measured"] = ["spoken sample", "latency (eval latency)"]
    return result


def plot(result: dict[str, Any], path: Path) -> None:
    systems = ("eco1", "baseline")
    panels = [
        BarPanel(f"covered: {verdict_name}",
                 {s: result[s]["factual"]["covered"][verdict_name] for s in systems}, color)
        for verdict_name, color in (("correct", "tab:green"), ("wrong", "tab:red"),
                                    ("abstained", "tab:gray"))
    ]  # fmt: skip
    panels.append(BarPanel("uncovered: answered confidently",
                           {s: result[s]["factual"]["uncovered_confident"] for s in systems},
                           "tab:orange"))  # fmt: skip
    panels.append(
        BarPanel(
            "follow-ups: right",
            {s: result[s]["follow_ups"]["correct"] for s in systems},
            "tab:blue",
        )
    )
    panels.append(BarPanel("simulated learners: learning gain",
                           result["teaching"]["learning_gain"], "tab:purple"))  # fmt: skip
    bar_panels(path, panels, "eco1 eval tutoring: curriculum turn vs model with notes", 16.0)


def run_tutoring_eval(
    out_dir: Path, settings: Settings, limit: int | None = None, spoken: bool = True
) -> int:
    """spoken=False skips the sample said aloud over WebRTC (it starts a server)."""
    from evals.tutoring_spoken import run_spoken, spoken_sample

    out_dir.mkdir(parents=True, exist_ok=True)
    result = asyncio.run(evaluate(settings, limit))
    typed = result["eco1"]["factual"].pop("by_question")
    result["baseline"]["factual"].pop("by_question")
    if spoken:
        sample = spoken_sample(COVERED[:limit] if limit else COVERED, 8 if limit else 40)
        result["spoken"] = run_spoken(sample, typed, verdict, out_dir / "logs")
        result["not_measured"].remove("spoken sample")
    result["limit"] = limit
    name = "tutoring" if limit is None else "tutoring_quick"
    save_result(out_dir, name, result, plot, ("goals",))
    return 0
