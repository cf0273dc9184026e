"""The mixture-of-experts library against cases worked out by hand."""

from __future__ import annotations

import math

import pytest
import torch

from perception.moe import (
    MoEConfig,
    MoEFeedForward,
    capacity,
    load_balancing_loss,
    router_z_loss,
    sticky_posterior,
    top_k_dispatch,
)


def test_capacity_rounds_up():
    assert capacity(tokens=10, experts=8, top_k=2, capacity_factor=1.25) == 4  # ceil(3.125)
    assert capacity(tokens=1, experts=8, top_k=1, capacity_factor=1.0) == 1


def test_first_come_first_served_and_overflow_dropped():
    probs = torch.tensor([[0.9, 0.1], [0.8, 0.2], [0.3, 0.7]])
    assigned, weights = top_k_dispatch(probs, top_k=1, slots=1)
    assert assigned.tolist() == [[1, 0], [0, 0], [0, 1]]  # token 1 finds expert 0 full
    assert weights.tolist() == [[1.0, 0.0], [0.0, 0.0], [0.0, 1.0]]


def test_top_two_weights_renormalise_over_the_chosen_pair():
    probs = torch.tensor([[0.5, 0.3, 0.2]])
    assigned, weights = top_k_dispatch(probs, top_k=2, slots=4)
    assert assigned.tolist() == [[1, 1, 0]]
    assert weights[0].tolist() == pytest.approx([0.625, 0.375, 0.0])


def test_second_choices_queue_behind_every_first_choice():
    probs = torch.tensor([[0.6, 0.4], [0.4, 0.6]])
    assigned, _ = top_k_dispatch(probs, top_k=2, slots=1)
    assert assigned.tolist() == [[1, 0], [0, 1]]  # both slots taken by first choices


def test_load_balancing_loss_is_one_when_balanced_and_n_when_collapsed():
    n = 4
    uniform = torch.full((8, n), 1 / n)
    spread = torch.eye(n).repeat(2, 1)
    assert float(load_balancing_loss(uniform, spread)) == pytest.approx(1.0)
    collapsed = torch.zeros(8, n)
    collapsed[:, 0] = 1.0
    assert float(load_balancing_loss(collapsed, collapsed)) == pytest.approx(n)


def test_router_z_loss_by_hand():
    assert float(router_z_loss(torch.zeros(3, 4))) == pytest.approx(math.log(4) ** 2)
    assert float(router_z_loss(torch.tensor([[2.0, 2.0]]))) == pytest.approx((2 + math.log(2)) ** 2)


def test_sticky_posterior_keeps_experts_unless_evidence_is_strong():
    probs = torch.tensor([0.4, 0.6])
    post = sticky_posterior(probs, torch.tensor([1.0, 0.0]), stay=0.9)
    # prior 0.95/0.05 → ∝ 0.38, 0.03
    assert post.tolist() == pytest.approx([0.38 / 0.41, 0.03 / 0.41])
    assert torch.equal(sticky_posterior(probs, None, stay=0.9), probs)
    strong = sticky_posterior(torch.tensor([0.01, 0.99]), torch.tensor([1.0, 0.0]), stay=0.9)
    assert strong[1] > strong[0]


def test_moe_layer_drops_over_capacity_tokens_and_carries_gate_state():
    torch.manual_seed(0)
    layer = MoEFeedForward(8, 16, MoEConfig(experts=4, top_k=2, capacity_factor=0.25))
    x = torch.randn(2, 6, 8)
    y, aux, state = layer(x)
    assert y.shape == x.shape and float(aux.detach()) > 0 and state.shape == (2, 4)
    assert int(layer.last_load.sum()) < 2 * 6 * 2  # some assignments were dropped
    assert int(layer.last_load.max()) <= capacity(12, 4, 2, 0.25)
    sticky = MoEFeedForward(8, 16, MoEConfig(experts=4, stickiness=0.95))
    sticky.load_state_dict(layer.state_dict())
    _, _, s1 = sticky(x)
    _, _, s2 = sticky(x, gate_state=s1)
    assert (s2.max(-1).values >= s1.max(-1).values - 1e-6).all()  # routing sharpens, not flaps


def test_the_controller_can_change_how_many_experts_route_each_token():
    from perception.moe import set_inference_top_k

    torch.manual_seed(0)
    layer = MoEFeedForward(8, 16, MoEConfig(experts=4, top_k=2))
    x = torch.randn(1, 6, 8)
    two, _, _ = layer(x)
    model = torch.nn.Sequential(layer)
    assert set_inference_top_k(model, 1) == 1 and layer.inference_top_k == 1
    one, _, _ = layer(x)
    assert not torch.allclose(one, two)
    assert torch.allclose(one, layer(x, top_k=1)[0])
    set_inference_top_k(model, 99)
    assert layer.inference_top_k == 4  # never more than the layer has
