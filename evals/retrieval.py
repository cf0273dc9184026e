"""`eco1 eval retrieval`: does the tutor get the right note, and no note when none fits?

Two kinds of question (evals/data/): ones the shipped notes cover, each with words the right
passage holds, and ones they do not cover (capitals, honey, rainbows). For each question the
tutor's one passage (retrieval.k = 1) is judged under two gates, side by side:

- `score_only`: the fused score over `retrieval.min_score` alone (the gate before Relevance);
- `relevance`: that plus `Relevance` (retrieval.min_similarity or retrieval.min_coverage).

Per gate and question set: `right` (covered: the passage holds every keyword), `none` (no
passage given) and `wrong` (a passage without the keywords, or any passage for an uncovered
question). A sweep of min_similarity shows the trade the default sits on. The tuning sets
were looked at when the defaults were chosen; the held-out sets were not. Writes
evals/results/retrieval.json and retrieval.png.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from loguru import logger

from agent.config import Settings
from agent.retrieval.index import Hit, Relevance
from agent.turn.assembly import build_index

DATA = Path(__file__).resolve().parent / "data"
SWEEP = (0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5)


def question_sets() -> dict[str, list[dict[str, Any]]]:
    """Covered questions carry keywords; uncovered ones an empty list."""
    labelled = json.loads((DATA / "retrieval_questions.json").read_text())
    tuning = json.loads((DATA / "tutor_questions.json").read_text())

    def uncovered(name: str) -> list[dict[str, Any]]:
        return [{"question": q, "keywords": []} for q in labelled[name]]

    return {
        "covered_tuning": [{"question": q["question"], "keywords": q["keywords"]} for q in tuning],
        "covered_held_out": labelled["covered_held_out"],
        "uncovered_tuning": uncovered("uncovered_tuning"),
        "uncovered_held_out": uncovered("uncovered_held_out"),
    }


def verdict(hit: Hit | None, keywords: list[str]) -> str:
    """'right', 'none' or 'wrong' for the passage a question was given."""
    if hit is None:
        return "none"
    text = hit.passage.text.lower()
    return "right" if keywords and all(word in text for word in keywords) else "wrong"


def tally(verdicts: list[str]) -> dict[str, float]:
    """Shares of each verdict (rounded), with the count."""
    n = len(verdicts)
    shares = {kind: round(verdicts.count(kind) / n, 3) for kind in ("right", "none", "wrong")}
    return {**shares, "questions": n}


def judge(
    top: dict[str, Hit], sets: dict[str, list[dict[str, Any]]], min_score: float, gate: Relevance
) -> dict[str, dict[str, float]]:
    """Each set's tally when a question's top passage must pass min_score and the gate."""
    result = {}
    for name, questions in sets.items():
        verdicts = []
        for item in questions:
            hit = top[item["question"]]
            given = hit if hit.score >= min_score and gate.admits(hit) else None
            verdicts.append(verdict(given, item["keywords"]))
        result[name] = tally(verdicts)
    return result


def run_retrieval_eval(out_dir: Path) -> int:
    out_dir.mkdir(parents=True, exist_ok=True)
    started = time.time()
    retrieval = Settings().retrieval
    index = build_index(retrieval)
    sets = question_sets()
    top = {item["question"]: index.ranked(item["question"], 1)[0]
           for questions in sets.values() for item in questions}  # fmt: skip
    default = index.relevance
    result = {
        "settings": {
            "min_score": retrieval.min_score,
            "min_similarity": default.min_similarity,
            "min_coverage": default.min_coverage,
            "k": 1,
        },
        "gates": {
            "score_only": judge(top, sets, retrieval.min_score, Relevance(-1.0, 0.0)),
            "relevance": judge(top, sets, retrieval.min_score, default),
        },
        "sweep_min_similarity": {
            str(similarity): judge(
                top, sets, retrieval.min_score, Relevance(similarity, default.min_coverage)
            )
            for similarity in SWEEP
        },
        "wall_s": round(time.time() - started, 1),
    }
    (out_dir / "retrieval.json").write_text(json.dumps(result, indent=2) + "\n")
    plot(result, out_dir / "retrieval.png")
    logger.info("wrote {}", out_dir / "retrieval.json")
    for gate, sets_tally in result["gates"].items():
        print(gate, json.dumps(sets_tally))
    return 0


def plot(result: dict[str, Any], path: Path) -> None:
    """Left: right notes for covered questions and wrong notes for uncovered ones, per gate
    (held-out sets). Right: the same two over the min_similarity sweep."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (bars, sweep) = plt.subplots(1, 2, figsize=(10, 3.9))
    gates = list(result["gates"])
    right = [result["gates"][g]["covered_held_out"]["right"] for g in gates]
    wrong = [result["gates"][g]["uncovered_held_out"]["wrong"] for g in gates]
    positions = range(len(gates))
    bars.bar([p - 0.2 for p in positions], right, 0.4, label="covered: right note")
    bars.bar([p + 0.2 for p in positions], wrong, 0.4, label="uncovered: a note anyway")
    bars.set_xticks(list(positions), gates)
    bars.set_ylim(0, 1)
    bars.set_title("held-out questions, per gate", fontsize=10)
    bars.legend(fontsize=8)
    levels = list(result["sweep_min_similarity"])
    for name, key, style in (("covered_held_out", "right", "-o"),
                             ("uncovered_held_out", "wrong", "-s"),
                             ("covered_tuning", "right", ":o"),
                             ("uncovered_tuning", "wrong", ":s")):  # fmt: skip
        values = [result["sweep_min_similarity"][level][name][key] for level in levels]
        sweep.plot([float(level) for level in levels], values, style, label=f"{name} {key}")
    sweep.axvline(result["settings"]["min_similarity"], color="k", lw=0.8)
    sweep.set_xlabel("retrieval.min_similarity (min_coverage fixed)")
    sweep.set_ylim(0, 1.02)
    sweep.legend(fontsize=7)
    sweep.set_title("the trade the default sits on", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
