"""Learners and timed requests against a running cluster (agent/cluster/), for
`eco1 eval cluster`: the same request through a front and straight to a host, so the
difference is the front's; and a host's CPU clock around spoken turns."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from typing import Any
from urllib.parse import quote

import httpx
from aiortc import RTCPeerConnection

from evals.harness.speech_samples import synthesize
from evals.harness.webrtc_client import TutorClient

IDLE_WINDOW_S = 8.0


def session_url(base: str, session_id: str) -> str:
    """A session's URL; its id holds "#", which must be percent-encoded."""
    return f"{base}/api/sessions/{quote(session_id, safe='')}"


class ClusterProbe:
    def __init__(self, service: Any, fronts: list[str], token: str) -> None:
        self.service = service
        self.registry = service.registry
        self.fronts = fronts
        self.token = token
        self.http = httpx.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=30)

    async def learner(self, i: int) -> TutorClient:
        client = TutorClient(self.fronts[i % len(self.fronts)], self.token)
        await client.connect()
        return client

    async def host_of(self, session_id: str) -> str:
        return (await self.registry.route.remote(session_id))["host"]["host_id"]

    async def host_url(self, session_id: str) -> str:
        return (await self.registry.route.remote(session_id))["host"]["url"]

    async def host_left(self, host_id: str) -> bool:
        return host_id not in {h["host_id"] for h in await self.registry.hosts.remote()}

    async def ended_in_store(self, session_id: str) -> bool:
        url = session_url(self.fronts[0], session_id) + "/events"
        answer = await self.http.get(url, params={"kind": "session_ended"})
        return answer.status_code == 200 and bool(answer.json())

    async def until(self, condition, timeout: float) -> float:
        """The moment `condition()` first holds (polled every 50 ms)."""
        deadline = time.monotonic() + timeout
        while not await condition():
            if time.monotonic() > deadline:
                raise TimeoutError(f"not within {timeout} s")
            await asyncio.sleep(0.05)
        return time.monotonic()

    async def placement(self, learners: int) -> dict[str, int]:
        """Where `learners` new learners, arriving through alternating fronts, are placed."""
        clients = [await self.learner(i) for i in range(learners)]
        hosts = Counter([await self.host_of(c.pc_id) for c in clients])
        for client in clients:
            await client.close()
        for client in clients:
            await self.http.delete(session_url(self.fronts[0], client.pc_id))
        return dict(hosts)

    async def host_cpu(self, host_id: str) -> float:
        handle = (await self.registry.handles.remote())[host_id]
        return (await handle.report.remote())["cpu_s"]

    async def close(self) -> None:
        await self.http.aclose()


async def patch_timings(probe: ClusterProbe, rounds: int) -> dict[str, list[float]]:
    """An ICE patch with no candidates (cheap on the host) through a front and straight to
    the session's host, alternately."""
    client = await probe.learner(0)
    targets = {"front": probe.fronts[1], "direct": await probe.host_url(client.pc_id)}
    body = {"pc_id": client.pc_id, "candidates": []}
    timings: dict[str, list[float]] = {name: [] for name in targets}
    for _ in range(rounds):
        for name, base in targets.items():
            started = time.perf_counter()
            answer = await probe.http.patch(f"{base}/api/offer", json=body)
            timings[name].append((time.perf_counter() - started) * 1000)
            answer.raise_for_status()
    await client.close()
    await probe.http.delete(session_url(probe.fronts[0], client.pc_id))
    return timings


async def offer_timings(probe: ClusterProbe, rounds: int) -> dict[str, list[float]]:
    """Whole offers (each starts a session, ended at once) through a front and straight to
    the host the front would have chosen. A first untimed round on every host pays for its
    first session (lazy parts of the pipeline), which is the host's cost, not the front's."""
    for host in await probe.registry.hosts.remote():
        await _timed_offer(probe, host["url"])
    timings: dict[str, list[float]] = {"front": [], "direct": []}
    for _ in range(rounds):
        host = (await probe.registry.placement.remote())[0]["url"]
        for name, base in (("front", probe.fronts[0]), ("direct", host)):
            timings[name].append(await _timed_offer(probe, base))
    return timings


async def _timed_offer(probe: ClusterProbe, base: str) -> float:
    """ms from sending an offer to its answer; the session is ended at once."""
    pc = RTCPeerConnection()
    pc.addTransceiver("audio", direction="sendrecv")
    pc.createDataChannel("events")
    await pc.setLocalDescription(await pc.createOffer())
    offer = {"sdp": pc.localDescription.sdp, "type": "offer"}
    started = time.perf_counter()
    answer = await probe.http.post(f"{base}/api/offer", json=offer)
    elapsed = (time.perf_counter() - started) * 1000
    answer.raise_for_status()
    await pc.close()
    await probe.http.delete(session_url(base, answer.json()["pc_id"]))
    return elapsed


async def spoken_turn_cpu(probe: ClusterProbe, covered: list[str], model: list[str]) -> dict:
    """A host's CPU seconds per idle session second and per answered spoken turn, with one
    learner on it: the host's clock around each turn, less its idle rate."""
    first = (await probe.registry.placement.remote())[0]["host_id"]
    before = await probe.host_cpu(first)
    await asyncio.sleep(IDLE_WINDOW_S)
    empty_rate = (await probe.host_cpu(first) - before) / IDLE_WINDOW_S
    client = await probe.learner(0)
    host = await probe.host_of(client.pc_id)
    before = await probe.host_cpu(host)
    await asyncio.sleep(IDLE_WINDOW_S)
    session_rate = (await probe.host_cpu(host) - before) / IDLE_WINDOW_S
    per_turn = {"covered": [], "model": []}
    for kind, questions in (("covered", covered), ("model", model)):
        for question in questions:
            per_turn[kind].append(await _one_turn(probe, client, host, question, session_rate))
    await client.close()
    return {
        "idle_cpu_per_s": round(max(0.0, session_rate - empty_rate), 4),
        "host_idle_cpu_per_s": round(empty_rate, 4),
        "covered_turn_cpu_s": round(sum(per_turn["covered"]) / len(per_turn["covered"]), 3),
        "model_turn_cpu_s": round(sum(per_turn["model"]) / len(per_turn["model"]), 3),
        "turns": per_turn,
    }


async def _one_turn(probe, client: TutorClient, host: str, question: str, rate: float) -> float:
    cpu, wall, sent = await probe.host_cpu(host), time.monotonic(), time.time()
    await client.say(synthesize(question))
    await client.wait_event("latency", 60, after=sent)
    await client.wait_event("speaking", 60, after=sent, role="tutor", speaking=False)
    await asyncio.sleep(0.5)  # the last frames of motion and audio
    spent = await probe.host_cpu(host) - cpu
    return round(max(0.0, spent - rate * (time.monotonic() - wall)), 3)
