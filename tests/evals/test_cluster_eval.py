"""The cluster benchmark's capacity model (evals/cluster.py): modelled from measured CPU."""

from __future__ import annotations

from evals.cluster import HEADROOM, TURN_INTERVAL_S, capacity, capacity_model


def test_a_learner_costs_its_idle_rate_plus_a_turns_cpu_per_interval():
    # 0.05 CPU-s/s idle + 1.0 CPU-s per turn every 20 s = 0.1 of a core per learner
    assert TURN_INTERVAL_S == 20.0
    assert capacity(0.05, 1.0, cores=2) == int(2 * HEADROOM / 0.1)
    assert capacity(0.05, 1.0, cores=64) == int(64 * HEADROOM / 0.1)
    assert capacity(0.0, 0.0, cores=2) == 0  # nothing measured: no claim


def test_moving_the_llm_to_vllm_never_lowers_capacity():
    cpu = {"idle_cpu_per_s": 0.05, "covered_turn_cpu_s": 0.8, "model_turn_cpu_s": 4.0}
    model = capacity_model(cpu)
    for per_host in model["learners_per_host"].values():
        assert per_host["vllm"] >= per_host["embedded_llm"] > 0
    assert model["turn_cpu_s"]["vllm"] == 0.8
    assert 0.8 < model["turn_cpu_s"]["embedded_llm"] < 4.0
