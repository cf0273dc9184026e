"""`eco1 eval planner`: EFE tutoring against a fixed script, a greedy planner and chance.

Every strategy teaches the same lesson to the same simulated knowledge-tracing learners
(evals/teaching.py), plus the planner's agreement with pymdp, its decision time, and the
latent (z-JEPA) control task.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from evals.harness.plots import BarPanel, bar_panels
from evals.latency import percentiles
from evals.teaching import run_teaching
from planner.inference import all_policies, infer_states, policy_posterior
from planner.model import TutoringModel, load_tutoring_model
from planner.tutor_planner import TutorPlanner


def pymdp_max_abs_diff(model: TutoringModel) -> float | None:
    try:
        from pymdp.legacy import control, utils
    except ImportError:
        return None
    A, B, C = (utils.obj_array_from_list(x) for x in (model.A, model.B, model.C))
    policies = all_policies(len(model.actions), 2, len(model.B))
    worst = 0.0
    asked = [*model.D[:3], np.array([0.0, 1.0])]  # after a check question
    for obs in ([0, 0, 0, 0], [1, 1, 1, 0], [2, 0, 2, 1], [3, 1, 0, 0]):
        qs = infer_states(model.A, obs, asked)
        theirs, _ = control.update_posterior_policies(utils.obj_array_from_list(qs), A, B, C,
                                                      policies, gamma=model.gamma)  # fmt: skip
        ours, _ = policy_posterior(qs, model.A, model.B, model.C, policies, model.gamma)
        worst = max(worst, float(np.abs(ours - theirs).max()))
    return worst


def decide_timings(model: TutoringModel, count: int = 300) -> list[float]:
    rng = np.random.default_rng(7)
    planner, timings = TutorPlanner(model), []
    for _ in range(count):
        obs = [int(rng.integers(A_m.shape[0])) for A_m in model.A]
        started = time.perf_counter()
        planner.observe(obs)
        planner.decide()
        timings.append((time.perf_counter() - started) * 1000.0)
    return timings


def run_planner_eval(out_dir: Path) -> int:
    from agent.tutoring.curriculum import load_curriculum

    out_dir.mkdir(parents=True, exist_ok=True)
    model = load_tutoring_model()
    result: dict[str, Any] = {
        **run_teaching(model, load_curriculum()),
        "pymdp_max_abs_diff": pymdp_max_abs_diff(model),
        "decide_ms": percentiles(decide_timings(model)),
        **latent_control(),
        "notes": "turns_to_mastery counts learners who never knew the whole lesson as turns + 1",
    }
    (out_dir / "planner.json").write_text(json.dumps(result, indent=2) + "\n")
    plot(result, out_dir / "planner.png")
    print(json.dumps({k: result[k] for k in ("learning_gain", "turns_to_mastery", "decide_ms",
                                             "pymdp_max_abs_diff")}))  # fmt: skip
    print(f"wrote {out_dir / 'planner.json'} and {out_dir / 'planner.png'}")
    return 0


def latent_control() -> dict[str, Any]:
    """The predator-steering task on the shipped z-JEPA checkpoint (evals/latent_control.py)."""
    from evals.latent_control import run_latent_control
    from perception.checkpoint import load_inference

    return run_latent_control(load_inference())


def plot(result: dict[str, Any], path: Path) -> None:
    never = result["turns"] + 1
    bar_panels(
        path,
        [
            BarPanel(
                "learning gain (share of the unknown lesson learned)",
                result["learning_gain"],
                "tab:green",
            ),  # fmt: skip
            BarPanel(f"turns to mastery (never = {never})", result["turns_to_mastery"]),
            BarPanel("latent control: prey caught", result["latent_success"], "tab:orange"),
        ],
        f"{result['learners']} simulated learners, {len(result['lesson'])} concepts in "
        f"{result['turns']} turns; "
        f"predator steering over {result['latent_setup']['test_episodes']} episodes",
        width=14.0,
    )
