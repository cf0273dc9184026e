"""Latent-rollout control: the chase task, the action-conditioned ensemble, CEM."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from perception.sim.chase import ChaseTask
from perception.video import VIT_SIZES, VideoEncoder
from planner.latent_cem import CEMConfig, cem_action, sequence_costs
from planner.latent_dynamics import Ensemble, Transitions, encode_steps, train_ensemble


class Shift(nn.Module):
    """Known dynamics: the action moves the first two latent channels of every token."""

    def __init__(self, sign: float = 1.0) -> None:
        super().__init__()
        self.sign = sign

    def forward(self, z, action):
        moved = z.clone()
        moved[..., :2] += self.sign * action[:, None, :]
        return moved


def test_chase_task_is_deterministic_and_the_stalker_wins():
    a, b = ChaseTask(seed=3), ChaseTask(seed=3)
    assert np.array_equal(a.observation(), b.observation())
    assert a.observation().shape == (2, 64, 64, 3)
    assert not np.array_equal(a.goal(), a.observation())
    wins = 0
    for seed in range(10):
        task = ChaseTask(seed=seed)
        wins += any(task.step(task.scripted_action()) for _ in range(30))
    assert wins >= 8
    still = ChaseTask(seed=0)
    start = still.world.state.predator_pos.copy()
    still.step(np.zeros(2))
    assert np.allclose(still.world.state.predator_pos, start)  # the action alone moves it


def test_cem_finds_the_action_that_reaches_the_goal():
    z = torch.zeros(4, 8)
    goal = z.clone()
    goal[:, :2] = torch.tensor([0.5, -0.5])
    ensemble = Ensemble([Shift(), Shift()])
    config = CEMConfig(horizon=1, samples=128, iterations=5, epistemic_weight=0.0)
    action = cem_action(ensemble, z, goal, np.random.default_rng(0), config)
    assert np.allclose(action, [0.5, -0.5], atol=0.15), action


def test_disagreement_is_epistemic_value():
    z = torch.zeros(4, 8)
    ensemble = Ensemble([Shift(1.0), Shift(-1.0)])  # members agree only when standing still
    actions = torch.tensor([[[0.0, 0.0]], [[1.0, 1.0]]])
    curious = sequence_costs(ensemble, z, z, actions, beta=0.5)
    assert curious[1] < curious[0]
    indifferent = sequence_costs(ensemble, z, z, actions, beta=0.0)
    assert torch.allclose(indifferent[0], indifferent[1])


def test_ensemble_learns_latent_dynamics_better_than_copying():
    torch.manual_seed(0)
    encoder = VideoEncoder(VIT_SIZES["tiny"], frames=8, image=64).eval()
    before, after, actions = [], [], []
    rng = np.random.default_rng(0)
    for seed in range(12):
        task = ChaseTask(seed=seed)
        for _ in range(8):
            action = rng.uniform(-1, 1, 2)
            before.append(task.observation())
            task.step(action)
            after.append(task.observation())
            actions.append(action)
    z, z_next = encode_steps(encoder, np.stack(before)), encode_steps(encoder, np.stack(after))
    act = torch.tensor(np.stack(actions), dtype=torch.float32)
    train = Transitions(z[:80], act[:80], z_next[:80])
    ensemble = train_ensemble(train, (4, 4), members=2, steps=150, batch=32)
    predicted = ensemble.rollout(z[80], act[80:, None])  # one step from the same start
    assert predicted.shape == (2, len(act) - 80, 16, 96)
    with torch.no_grad():
        model_err = float((ensemble.members[0](z[80:], act[80:]) - z_next[80:]).abs().mean())
    copy_err = float((z[80:] - z_next[80:]).abs().mean())
    assert model_err < copy_err
