"""`eco1 eval cluster`: what the Ray scale-out costs and what it holds.

On a local cluster of three raylets (a head with the registry and two fronts, two nodes with
a session host each; evals/harness/ray_cluster.py) with PostgreSQL as the shared store:

- measured: signalling time through a front against straight to the host (a cheap relayed
  request, ICE patches, and whole offers that start sessions), so the difference is what
  the front adds; where new sessions are placed; after a node is killed, how long until its
  host leaves the routing, its learners' end is in the store, and a new learner is served;
  a host's CPU seconds per answered spoken turn (curriculum answers, and questions that go to
  the model) and per idle session second, from the host process's own clock;
- modelled from those: learners per 2-, 16- and 64-core host at a stated pace of turns and
  CPU headroom, with the LLM embedded and with it on a vLLM server (docs/deploy.md).

Writes evals/results/cluster.json and .png.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from tqdm import tqdm

from agent.config import Settings
from evals.harness.cluster_probe import (
    ClusterProbe,
    offer_timings,
    patch_timings,
    spoken_turn_cpu,
)
from evals.harness.plots import BarPanel, bar_panels, save_result
from evals.harness.postgres import local_postgres
from evals.harness.ray_cluster import local_ray_cluster, node_of
from evals.latency import percentiles

TOKEN = "cluster-eval-token-01234"
COVERED = ["What is photosynthesis?", "Why is the sky blue?", "What is gravity?"]
TO_THE_MODEL = ["What would happen if there were no bees?", "Why do cats purr?",
                "What if the Moon were twice as big?"]  # fmt: skip
TURN_INTERVAL_S = 20.0  # a learner in a spoken lesson asks or answers about every 20 s
HEADROOM = 0.7  # CPU kept busy at most this much, so a turn's work starts without a queue
MODEL_SHARE = 0.16  # turns that reach the model: 40 of 257 in evals/results/tutoring.json
CORES = (2, 16, 64)


def cluster_settings(base: Settings, store_url: str, tmp: Path) -> Settings:
    """The service's settings on the benchmark's cluster: its token, store and ports."""
    settings = base.model_copy(deep=True)
    settings.port = 18960
    settings.server.api_token, settings.server.open_access = TOKEN, False
    settings.server.max_sessions, settings.server.offers_per_minute = 4, 1000
    settings.server.db_path = tmp / "eco1.sqlite3"
    settings.store.url = store_url
    settings.llm.read_ahead = False
    settings.cluster.fronts, settings.cluster.health_interval_s = 2, 0.25
    return settings


def capacity(idle_cpu_per_s: float, turn_cpu_s: float, cores: int) -> int:
    """Learners a host of `cores` holds: each costs its idle rate plus a turn's CPU every
    TURN_INTERVAL_S, and the host stays under HEADROOM."""
    per_learner = idle_cpu_per_s + turn_cpu_s / TURN_INTERVAL_S
    return int(cores * HEADROOM / per_learner) if per_learner > 0 else 0


def capacity_model(cpu: dict[str, float]) -> dict[str, Any]:
    embedded = (1 - MODEL_SHARE) * cpu["covered_turn_cpu_s"] + MODEL_SHARE * cpu["model_turn_cpu_s"]
    # On vLLM a model turn's writing leaves the host: it costs what a curriculum turn costs
    # (ASR, planning, TTS, the avatar), a lower bound that ignores the HTTP stream's own CPU.
    remote = cpu["covered_turn_cpu_s"]
    return {
        "assumptions": {
            "turn_interval_s": TURN_INTERVAL_S,
            "cpu_headroom": HEADROOM,
            "model_share_of_turns": MODEL_SHARE,
        },  # fmt: skip
        "turn_cpu_s": {"embedded_llm": round(embedded, 3), "vllm": round(remote, 3)},
        "learners_per_host": {
            f"{cores}_cores": {
                "embedded_llm": capacity(cpu["idle_cpu_per_s"], embedded, cores),
                "vllm": capacity(cpu["idle_cpu_per_s"], remote, cores),
            }
            for cores in CORES
        },
    }


async def failover(probe: ClusterProbe, nodes, workers) -> dict[str, Any]:
    """Kill the node of a learner's host; time until the routing, the store and a newcomer
    each show it."""
    learner = await probe.learner(0)
    lost_host = await probe.host_of(learner.pc_id)
    killed = time.monotonic()
    nodes.remove_node(node_of(workers, lost_host))
    left = await probe.until(lambda: probe.host_left(lost_host), 15.0) - killed
    told = await probe.until(lambda: probe.ended_in_store(learner.pc_id), 15.0) - killed
    newcomer = await probe.learner(1)
    served = time.monotonic() - killed
    survivor = await probe.host_of(newcomer.pc_id)
    await newcomer.close()
    await learner.close()
    return {
        "host_left_routing_s": round(left, 3), "session_end_in_store_s": round(told, 3),
        "new_learner_served_s": round(served, 3), "survivor_took_it": survivor != lost_host,
    }  # fmt: skip


async def measure(settings: Settings, nodes, workers, rounds: int) -> dict[str, Any]:
    from agent.cluster.launch import ClusterService

    service = ClusterService(settings)
    started = time.monotonic()
    fronts = await service.start()
    probe = ClusterProbe(service, fronts, TOKEN)
    result: dict[str, Any] = {"hosts_started_s": round(time.monotonic() - started, 1)}
    with tqdm(total=5, desc="cluster", unit="step") as bar:
        result["patch_ms"] = await patch_timings(probe, rounds * 5)
        bar.update()
        result["offer_ms"] = await offer_timings(probe, rounds)
        bar.update()
        result["placed_per_host"] = await probe.placement(6)
        bar.update()
        result["cpu"] = await spoken_turn_cpu(probe, COVERED, TO_THE_MODEL)
        bar.update()
        result["failover"] = await failover(probe, nodes, workers)
        bar.update()
    await probe.close()
    return result


def summarize(measured: dict[str, Any]) -> dict[str, Any]:
    added = {}
    for kind in ("patch_ms", "offer_ms"):
        front = percentiles(measured[kind]["front"])
        direct = percentiles(measured[kind]["direct"])
        added[kind] = {"front": front, "direct": direct,
                       "added_p50": round(front["p50"] - direct["p50"], 1),
                       "added_p95": round(front["p95"] - direct["p95"], 1)}  # fmt: skip
    return {
        "signalling": added,
        "front_added_p95_ms": max(added["patch_ms"]["added_p95"], added["offer_ms"]["added_p95"]),
        "placed_per_host": measured["placed_per_host"],
        "failover": measured["failover"],
        "cpu_measured": measured["cpu"],
        "capacity_modelled": capacity_model(measured["cpu"]),
        "hosts_started_s": measured["hosts_started_s"],
        "measured_on": "three raylets on one 2-core machine (loopback); CPU per turn from the "
        "host process's clock, one learner speaking at a time",
    }


def plot(result: dict[str, Any], path: Path) -> None:
    signalling = result["signalling"]
    ways = [(kind, way) for kind in signalling for way in ("front", "direct")]
    per_host = result["capacity_modelled"]["learners_per_host"]
    shown = {"host_left_routing_s": "left routing", "session_end_in_store_s": "end stored",
             "new_learner_served_s": "newcomer served"}  # fmt: skip
    failover = {shown[k]: result["failover"][k] for k in shown}
    cores = {c: c.split("_")[0] + "c" for c in per_host}
    learners = {f"{cores[c]} embed": v["embedded_llm"] for c, v in per_host.items()}
    learners |= {f"{cores[c]} vLLM": v["vllm"] for c, v in per_host.items()}
    bar_panels(path, [
        BarPanel("signalling p50 ms (dots p95)",
                 {f"{k[:-3]} {w}": signalling[k][w]["p50"] for k, w in ways},
                 markers={f"{k[:-3]} {w}": signalling[k][w]["p95"] for k, w in ways},
                 marker_label="p95"),
        BarPanel("failover s after the kill", failover, color="tab:red"),
        BarPanel("learners per host (modelled)", learners, color="tab:green"),
    ], "eco1 eval cluster: the front's cost, failover, capacity", width=17.0)  # fmt: skip


def run_cluster_eval(out_dir: Path, settings: Settings, rounds: int = 12) -> int:
    out_dir.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    with local_postgres() as store_url, local_ray_cluster(hosts=2) as (nodes, workers):
        config = cluster_settings(settings, store_url, out_dir.resolve().parent / ".cluster")
        measured = asyncio.run(measure(config, nodes, workers, rounds))
    result = summarize(measured) | {"wall_s": round(time.monotonic() - started, 1)}
    save_result(out_dir, "cluster", result, plot,
                ("front_added_p95_ms", "placed_per_host", "failover"))  # fmt: skip
    return 0
