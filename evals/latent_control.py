"""Latent-rollout control in the simulator: a predator steered onto prey by CEM over an
ensemble of action-conditioned predictors on frozen z-JEPA latents, against the simulator's
scripted stalking primitive (which reads true positions) and random actions.

The predictors train here, in seconds, on random and noisy-pursuit episodes; every policy
then faces the same held-out episodes.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import torch
from tqdm import tqdm

from perception.sim.chase import ChaseTask
from perception.zjepa import ZJEPA
from planner.latent_cem import CEMConfig, cem_action
from planner.latent_dynamics import Ensemble, Transitions, encode_steps, train_ensemble

TRAIN_EPISODES, TRAIN_STEPS = 240, 16
TEST_EPISODES, MAX_STEPS = 30, 30
TEST_FIRST_SEED = 10_000


def collect(model: ZJEPA, episodes: int = TRAIN_EPISODES, steps: int = TRAIN_STEPS) -> Transitions:
    """Half the episodes act at random, half pursue with heavy noise (to see catches)."""
    before, after, actions = [], [], []
    rng = np.random.default_rng(7)
    for ep in tqdm(range(episodes), desc="chase episodes"):
        task = ChaseTask(seed=ep, size=model.config.image)
        pursue = ep % 2 == 1
        for _ in range(steps):
            noise = rng.uniform(-1, 1, 2)
            action = 0.6 * task.scripted_action() + 0.8 * noise if pursue else noise
            before.append(task.observation())
            caught = task.step(action)
            after.append(task.observation())
            actions.append(np.clip(action, -1, 1))
            if caught:
                break
    encoder = model.target_video
    return Transitions(
        encode_steps(encoder, np.stack(before)),
        torch.tensor(np.stack(actions), dtype=torch.float32),
        encode_steps(encoder, np.stack(after)),
    )


def success_rate(policy: Callable[[ChaseTask], np.ndarray], size: int) -> dict:
    caught, steps = 0, []
    for ep in range(TEST_EPISODES):
        task = ChaseTask(seed=TEST_FIRST_SEED + ep, size=size)
        for k in range(MAX_STEPS):
            if task.step(policy(task)):
                caught += 1
                steps.append(k + 1)
                break
    return {
        "success": round(caught / TEST_EPISODES, 3),
        "mean_steps": round(float(np.mean(steps)), 1) if steps else None,
    }


def cem_policy(model: ZJEPA, ensemble: Ensemble, config: CEMConfig, timings: list[float]):
    rng = np.random.default_rng(3)

    def act(task: ChaseTask) -> np.ndarray:
        started = time.perf_counter()
        z = encode_steps(model.target_video, task.observation()[None])[0]
        goal = encode_steps(model.target_video, task.goal()[None])[0]
        action = cem_action(ensemble, z, goal, rng, config)
        timings.append((time.perf_counter() - started) * 1000)
        return action

    return act


def run_latent_control(model: ZJEPA) -> dict:
    """Success rates for latent_success in planner.json."""
    data = collect(model)
    ensemble = train_ensemble(data, model.video.grid[1:])
    size = model.config.image
    timings: list[float] = []
    rng = np.random.default_rng(5)
    results = {
        "cem": success_rate(cem_policy(model, ensemble, CEMConfig(), timings), size),
        "cem_no_epistemic": success_rate(
            cem_policy(model, ensemble, CEMConfig(epistemic_weight=0.0), []), size
        ),
        "scripted": success_rate(lambda task: task.scripted_action(), size),
        "random": success_rate(lambda task: rng.uniform(-1, 1, 2), size),
    }
    return {
        "latent_success": {k: v["success"] for k, v in results.items()},
        "latent_steps_to_catch": {k: v["mean_steps"] for k, v in results.items()},
        "latent_decide_ms": {
            "p50": round(float(np.percentile(timings, 50)), 1),
            "p95": round(float(np.percentile(timings, 95)), 1),
        },
        "latent_setup": {
            "train_transitions": int(data.z.shape[0]),
            "test_episodes": TEST_EPISODES,
            "max_steps": MAX_STEPS,
            "ensemble": len(ensemble.members),
            "cem": CEMConfig().__dict__,
        },
    }
