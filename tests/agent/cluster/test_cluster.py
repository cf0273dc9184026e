"""The scale-out for real: a local Ray cluster of three raylets on loopback (a head with the
registry and two fronts, two nodes with a session host each), real WebRTC clients through
the fronts, PostgreSQL as the shared store; then a front and a node are killed."""

from __future__ import annotations

import asyncio
import time
from urllib.parse import quote

import httpx
import httpx2
import pytest
import ray
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from agent.cluster.launch import ClusterService
from agent.config import Settings
from evals.harness.ray_cluster import local_ray_cluster, node_of
from evals.harness.webrtc_client import TutorClient

pytestmark = pytest.mark.slow
TOKEN = "cluster-test-token-0123"


@pytest.fixture
def cluster():
    with local_ray_cluster(hosts=2) as (nodes, workers):
        yield nodes, workers


def cluster_settings(tmp_path, store_url: str) -> Settings:
    return Settings(
        port=18860,
        server={"api_token": TOKEN, "max_sessions": 1, "db_path": tmp_path / "eco1.sqlite3"},
        store={"url": store_url},
        # a front keeps its view of the hosts' load for the whole test (see the retry below)
        cluster={"fronts": 2, "health_interval_s": 0.25, "placement_view_s": 600},
        llm={"read_ahead": False}, perception={"enabled": False},
    )  # fmt: skip


async def connected(front: str) -> TutorClient:
    client = TutorClient(front, TOKEN)
    await client.connect()
    return client


async def host_of(service: ClusterService, session_id: str) -> str:
    return (await service.registry.route.remote(session_id))["host"]["host_id"]


async def until(condition, timeout: float, what: str) -> float:
    started = time.monotonic()
    while not await condition():
        if time.monotonic() - started > timeout:
            raise AssertionError(f"not within {timeout} s: {what}")
        await asyncio.sleep(0.1)
    return time.monotonic() - started


async def test_fronts_route_sessions_to_hosts_and_survive_a_dead_front_and_node(
    cluster, tmp_path, postgres_url
):
    nodes, workers = cluster
    service = ClusterService(cluster_settings(tmp_path, postgres_url))
    front_a, front_b = await service.start()
    auth = {"Authorization": f"Bearer {TOKEN}"}
    http = httpx.AsyncClient(headers=auth, timeout=20)
    first, second = await connected(front_a), await connected(front_b)
    try:
        # one learner per host (capacity 1 each); a third is refused by the front
        assert await host_of(service, first.pc_id) != await host_of(service, second.pc_id)
        with pytest.raises(httpx.HTTPStatusError, match="503"):
            await connected(front_b)

        # the first leaves; front A's view still holds the first's host full and the second's
        # open: the second's host refuses, and the learner goes to the first's host
        first_host = await host_of(service, first.pc_id)
        left = await http.delete(f"{front_b}/api/sessions/{quote(first.pc_id, safe='')}")
        assert left.status_code == 200
        await first.close()
        await until(slot_free(service, first_host), 10.0, "the first's host freed its slot")
        refused = (await http.get(f"{front_a}/healthz")).json()["offers_refused_by_hosts"]
        first = await connected(front_a)
        assert await host_of(service, first.pc_id) == first_host
        after = (await http.get(f"{front_a}/healthz")).json()["offers_refused_by_hosts"]
        assert after > refused

        await mcp_reaches_every_host(front_b, first, second)

        # a front dies: the other routes the first learner's session, placed by the dead one
        ray.kill(service.fronts[18860])
        patch = {"pc_id": first.pc_id, "candidates": []}
        assert (await http.patch(f"{front_b}/api/offer", json=patch)).status_code == 200
        await service.keep()  # and it is started again
        assert (await http.get(f"{front_a}/healthz")).status_code == 200

        # the registry's process dies: Ray restarts it empty, the launcher registers the
        # hosts again, their reports bring the sessions back, and the fronts' handles hold
        ray.kill(service.registry, no_restart=False)
        await until(registry_answers(service), 30.0, "the registry came back")
        await service.keep()

        async def routed_again() -> bool:
            routes = [await service.registry.route.remote(c.pc_id) for c in (first, second)]
            return all("host" in route for route in routes)

        await until(routed_again, 10.0, "both sessions are routed again")
        assert (await http.patch(f"{front_a}/api/offer", json=patch)).status_code == 200

        # the second learner's node dies: its host leaves the routing within seconds, and
        # the session's end, with its reason, is in the shared store for the client to read
        lost_host = await host_of(service, second.pc_id)
        nodes.remove_node(node_of(workers, lost_host))

        async def host_gone() -> bool:
            return lost_host not in {h["host_id"] for h in await service.registry.hosts.remote()}

        assert await until(host_gone, 5.0, "the dead host left the routing") < 5.0
        ended = await http.get(f"{front_a}/api/sessions/{quote(second.pc_id, safe='')}/events",
                               params={"kind": "session_ended"})  # fmt: skip
        assert ended.status_code == 200 and "host_lost" in ended.json()[-1]["reason"]

        # the first learner leaves through the other front; a newcomer goes to the survivor
        gone = await http.delete(f"{front_b}/api/sessions/{quote(first.pc_id, safe='')}")
        assert gone.status_code == 200
        survivor = await host_of_after_end(service, first)
        newcomer = await connected(front_a)
        assert await host_of(service, newcomer.pc_id) == survivor
        await newcomer.close()
    finally:
        await http.aclose()
        await first.close()
        await second.close()


def slot_free(service: ClusterService, host_id: str):
    async def free() -> bool:
        hosts = {h["host_id"]: h for h in await service.registry.hosts.remote()}
        return hosts[host_id]["sessions"] == 0

    return free


def registry_answers(service: ClusterService):
    async def answers() -> bool:
        try:
            await service.registry.hosts.remote()
            return True
        except ray.exceptions.RayActorError:
            return False

    return answers


async def mcp_reaches_every_host(front: str, first: TutorClient, second: TutorClient) -> None:
    """MCP at a front: sessions listed from both hosts; `speak` and `session_state` run by
    the host that holds the session; `ask` answered by some host."""
    http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {TOKEN}"}, timeout=60)
    async with http, Client(streamable_http_client(f"{front}/mcp/", http_client=http)) as mcp:
        listed = (await mcp.call_tool("list_sessions", {})).structured_content["result"]
        assert sorted(s["session_id"] for s in listed) == sorted([first.pc_id, second.pc_id])
        state = await mcp.call_tool("session_state", {"session_id": second.pc_id})
        assert not state.is_error and "beliefs" in state.structured_content
        line = "Hello from the cluster."
        spoke = await mcp.call_tool("speak", {"session_id": first.pc_id, "text": line})
        assert not spoke.is_error
        assert await first.wait_event("transcript", 30, role="tutor", text=line)
        missing = await mcp.call_tool("speak", {"session_id": "nobody", "text": "hi"})
        assert missing.is_error and "no live session" in missing.content[0].text
        answer = await mcp.call_tool("ask", {"question": "What is photosynthesis?"})
        assert not answer.is_error and "answer" in answer.structured_content
        asked = await mcp.read_resource("transcript://default")  # the ask conversation's host
        assert "photosynthesis" in asked.contents[0].text.lower()
        # The line joins the session's context once it has been spoken, which may be after
        # the transcript event the client got when it began.
        uri = f"transcript://{quote(first.pc_id, safe='')}"

        async def spoken() -> bool:
            return line in (await mcp.read_resource(uri)).contents[0].text

        await until(spoken, 15.0, "the spoken line in the session's transcript resource")


async def host_of_after_end(service: ClusterService, client: TutorClient) -> str:
    """The one host left, once the ended session has freed its slot."""

    async def free() -> bool:
        hosts = await service.registry.hosts.remote()
        return len(hosts) == 1 and hosts[0]["sessions"] == 0

    await until(free, 10.0, f"session {client.pc_id} freed its host")
    return (await service.registry.hosts.remote())[0]["host_id"]
