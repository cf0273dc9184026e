"""`eco1 eval planner`: EFE tutoring against a fixed script, a greedy planner and chance.

Every strategy teaches the same simulated population (planner/learners.py) for the same
number of turns, each learner starting from the same hidden state and random stream.
"""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from evals.latency import percentiles
from evals.plots import BarPanel, bar_panels
from planner.agent import TutorPlanner
from planner.inference import all_policies, infer_states, policy_posterior
from planner.learners import SimulatedLearner, population
from planner.model import TutoringModel, load_tutoring_model

TURNS = 15
LEARNERS = 80
SCRIPT = ["explain", "example", "check", "hint", "summarise", "check"]


def efe_strategy(model: TutoringModel, seed: int) -> Callable[[list[int], int], str]:
    planner = TutorPlanner(model, seed=seed)

    def act(obs: list[int], _turn: int) -> str:
        planner.observe(obs)
        return planner.decide().action

    return act


def greedy_strategy(model: TutoringModel, seed: int) -> Callable[[list[int], int], str]:
    """Pragmatic only: the one-step action with the best expected utility, no curiosity."""
    state = {"qs": [d.copy() for d in model.D], "last": None}
    policies = all_policies(len(model.actions), 1, len(model.B))

    def act(obs: list[int], _turn: int) -> str:
        prior = (
            state["qs"]
            if state["last"] is None
            else [B[:, :, state["last"]] @ q for B, q in zip(model.B, state["qs"], strict=True)]
        )
        state["qs"] = infer_states(model.A, obs, prior)
        q_pi, _ = policy_posterior(state["qs"], model.A, model.B, model.C, policies, model.gamma,
                                   info_gain=False)  # fmt: skip
        state["last"] = int(np.argmax(q_pi))
        return model.actions[state["last"]]

    return act


def script_strategy(model: TutoringModel, seed: int) -> Callable[[list[int], int], str]:
    return lambda _obs, turn: SCRIPT[turn % len(SCRIPT)]


def random_strategy(model: TutoringModel, seed: int) -> Callable[[list[int], int], str]:
    rng = np.random.default_rng(seed)
    return lambda _obs, _turn: model.actions[int(rng.integers(len(model.actions)))]


STRATEGIES = {"efe": efe_strategy, "fixed_script": script_strategy, "greedy": greedy_strategy,
              "random": random_strategy}  # fmt: skip


def teach(model: TutoringModel, learner: SimulatedLearner, act) -> tuple[float, int | None]:
    """(normalised learning gain, turns until mastered or None)."""
    start, mastered_at = learner.knowledge, None
    obs = learner.observe(model)
    for turn in range(TURNS):
        learner.respond(act(obs, turn))
        obs = learner.observe(model)
        if learner.knowledge == 2 and mastered_at is None:
            mastered_at = turn + 1
    gain = (learner.knowledge - start) / max(1, 2 - start)
    return gain, mastered_at


def pymdp_max_abs_diff(model: TutoringModel) -> float | None:
    try:
        from pymdp.legacy import control, utils
    except ImportError:
        return None
    A, B, C = (utils.obj_array_from_list(x) for x in (model.A, model.B, model.C))
    policies = all_policies(len(model.actions), 2, len(model.B))
    worst = 0.0
    for obs in ([0, 0, 0, 0], [1, 1, 1, 0], [2, 0, 2, 1], [0, 1, 0, 0]):
        qs = infer_states(model.A, obs, model.D)
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
    out_dir.mkdir(parents=True, exist_ok=True)
    model = load_tutoring_model()
    learners = population(LEARNERS, seed=11)
    gains: dict[str, list[float]] = {name: [] for name in STRATEGIES}
    mastery: dict[str, list[int]] = {name: [] for name in STRATEGIES}
    for index, learner in enumerate(tqdm(learners, desc="simulated learners", unit="learner")):
        for name, make in STRATEGIES.items():
            gain, mastered_at = teach(model, copy.deepcopy(learner), make(model, index))
            gains[name].append(gain)
            mastery[name].append(mastered_at if mastered_at is not None else TURNS + 1)
    result: dict[str, Any] = {
        "learners": LEARNERS,
        "turns": TURNS,
        "learning_gain": {n: round(float(np.mean(v)), 3) for n, v in gains.items()},
        "turns_to_mastery": {n: round(float(np.mean(v)), 2) for n, v in mastery.items()},
        "mastered_fraction": {n: round(float(np.mean([t <= TURNS for t in v])), 3)
                              for n, v in mastery.items()},  # fmt: skip
        "pymdp_max_abs_diff": pymdp_max_abs_diff(model),
        "decide_ms": percentiles(decide_timings(model)),
        **latent_control(),
        "notes": "turns_to_mastery counts never-mastered learners as turns + 1",
    }  # fmt: skip
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
                "learning gain (0 = none, 1 = reached mastery)",
                result["learning_gain"],
                "tab:green",
            ),  # fmt: skip
            BarPanel(f"turns to mastery (never = {never})", result["turns_to_mastery"]),
            BarPanel("latent control: prey caught", result["latent_success"], "tab:orange"),
        ],
        f"{result['learners']} simulated learners, {result['turns']} turns each; "
        f"predator steering over {result['latent_setup']['test_episodes']} episodes",
        width=14.0,
    )
