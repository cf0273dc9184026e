"""Placement and routing state (agent/cluster/routing.py) and the front's relay to hosts
(agent/cluster/front.py), without Ray: a fake registry and hosts on httpx's mock transport."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient

from agent.cluster import routing
from agent.cluster.front import create_front
from agent.cluster.relay import HostAnswer, HostUnreachable, PlacementView
from agent.cluster.routing import HostLoad, RoutingTable, placement_order
from agent.config import Settings

TOKEN = "t" * 20


def test_placement_prefers_the_least_loaded_share_and_skips_full_or_starting_hosts():
    hosts = [
        HostLoad("a", "http://a", sessions=3, capacity=4),
        HostLoad("b", "http://b", sessions=1, capacity=2),
        HostLoad("c", "http://c", sessions=2, capacity=8),
        HostLoad("full", "http://f", sessions=2, capacity=2),
        HostLoad("cold", "http://x", sessions=0, capacity=8, ready=False),
    ]
    assert [h.host_id for h in placement_order(hosts)] == ["c", "b", "a"]


def test_a_placement_counts_against_its_host_before_the_next_report():
    table = RoutingTable()
    table.report(HostLoad("a", "http://a", 0, 2), [])
    table.report(HostLoad("b", "http://b", 0, 2), [])
    first = placement_order(list(table.hosts.values()))[0]
    table.placed("s1", first.host_id)
    assert placement_order(list(table.hosts.values()))[0].host_id != first.host_id
    # the host's next report does not yet list s1 (it is still starting): still counted
    table.report(HostLoad(first.host_id, "http://a", 0, 2), [])
    assert table.hosts[first.host_id].sessions == 1
    assert table.host_of("s1").host_id == first.host_id


def test_sessions_a_host_no_longer_holds_leave_the_table(monkeypatch):
    table = RoutingTable()
    table.report(HostLoad("a", "http://a", 1, 2), ["s1"])
    assert table.host_of("s1").host_id == "a"
    table.report(HostLoad("a", "http://a", 0, 2), [])  # s1 ended on the host
    assert table.host_of("s1") is None


def test_recent_placements_survive_a_report_that_does_not_list_them_yet(monkeypatch):
    table = RoutingTable()
    table.report(HostLoad("a", "http://a", 0, 2), [])
    table.placed("s1", "a")
    table.report(HostLoad("a", "http://a", 0, 2), [])
    assert table.host_of("s1") is not None
    monkeypatch.setattr(routing, "PLACEMENT_GRACE_S", 0.0)
    table.report(HostLoad("a", "http://a", 0, 2), [])
    assert table.host_of("s1") is None


def test_a_dropped_host_takes_its_sessions_with_it_and_they_read_as_lost():
    table = RoutingTable()
    table.report(HostLoad("a", "http://a", 2, 4), ["s1", "s2"])
    table.report(HostLoad("b", "http://b", 1, 4), ["s3"])
    assert sorted(table.drop_host("a", "host_lost: test")) == ["s1", "s2"]
    assert "a" not in table.hosts
    assert table.host_of("s1") is None and table.lost_reason("s1") == "host_lost: test"
    assert table.host_of("s3").host_id == "b" and table.lost_reason("s3") is None
    assert [h.host_id for h in placement_order(list(table.hosts.values()))] == ["b"]


class Remote:
    """A Ray actor method as the front awaits it: `.remote(...)` returns an awaitable."""

    def __init__(self, fn) -> None:
        self._fn = fn

    async def remote(self, *args):
        return self._fn(*args)


class FakeRegistry:
    def __init__(self, table: RoutingTable) -> None:
        self.table = table
        self.unreachable_hosts: list[str] = []
        self.placement = Remote(
            lambda: [vars(h) for h in placement_order(list(table.hosts.values()))]
        )
        self.placed = Remote(table.placed)
        self.ended = Remote(table.ended)
        self.unreachable = Remote(self.unreachable_hosts.append)
        self.hosts = Remote(lambda: [vars(h) for h in table.hosts.values()])

        def route(session_id: str) -> dict:
            host = table.host_of(session_id)
            if host is not None:
                return {"host": vars(host)}
            reason = table.lost_reason(session_id)
            return {"lost": reason} if reason else {}

        self.route = Remote(route)


@dataclass
class Sent:
    method: str
    url: str
    body: bytes
    headers: dict[str, str]


class FakeHosts:
    """The relay's transport, answered per host by a handler (Sent -> HostAnswer)."""

    def __init__(self, handlers) -> None:
        self.handlers = handlers

    async def fetch(self, method, url, params, body, headers) -> HostAnswer:
        host = url.split("/")[2]
        return self.handlers[host](Sent(method, url, body, headers))

    async def close(self) -> None:
        pass


def front_with(hosts: dict) -> tuple[TestClient, FakeRegistry]:
    """A front over hosts answered by `hosts` (host id -> handler); the least loaded first in
    the order given."""
    table = RoutingTable()
    for i, host_id in enumerate(hosts):
        table.report(HostLoad(host_id, f"http://{host_id}", i, 8), [])
    registry = FakeRegistry(table)
    app = create_front(Settings(server={"api_token": TOKEN}), registry)
    app.state.relay.transport = FakeHosts(hosts)
    return TestClient(app, headers={"Authorization": f"Bearer {TOKEN}"}), registry


OFFER = {"sdp": "v=0\r\n", "type": "offer"}


def answering(pc_id: str, seen: list[Sent] | None = None):
    def handler(sent: Sent) -> HostAnswer:
        if seen is not None:
            seen.append(sent)
        body = json.dumps({"pc_id": pc_id, "sdp": "v=0", "type": "answer"}).encode()
        return HostAnswer(200, body, "application/json")

    return handler


def refusing(status: int):
    return lambda sent: HostAnswer(status, b'{"detail": "full"}', "application/json")


def test_a_host_at_capacity_refuses_and_the_front_tries_the_next():
    seen: list[Sent] = []
    client, registry = front_with({"full": refusing(503), "spare": answering("pc-1", seen)})
    answer = client.post("/api/offer", json=OFFER)
    assert answer.status_code == 200 and answer.json()["pc_id"] == "pc-1"
    assert registry.table.host_of("pc-1").host_id == "spare"
    # the host sees the learner's token and address, not the front's, and the body as sent
    assert seen[0].headers["authorization"] == f"Bearer {TOKEN}"
    assert seen[0].headers["x-forwarded-for"] == "testclient"
    assert json.loads(seen[0].body) == OFFER


def test_a_front_whose_view_thinks_the_free_host_full_asks_the_registry_again():
    """Its view: "a" open, "b" full. "a" has filled since (another front) and "b" has a free
    slot: "a" refuses, the registry's current load sends the learner to "b"."""
    client, registry = front_with({"a": refusing(503), "b": answering("pc-3")})
    registry.table.report(HostLoad("b", "http://b", 8, 8), [])
    relay = client.app.state.relay
    relay.view._max_age = 60.0
    asyncio.run(relay.view.order())  # "b" full in the view
    registry.table.report(HostLoad("b", "http://b", 0, 8), [])
    answer = client.post("/api/offer", json=OFFER)
    assert answer.status_code == 200 and answer.json()["pc_id"] == "pc-3"
    assert client.get("/healthz").json()["offers_refused_by_hosts"] == 1


def test_every_host_full_is_a_503_with_retry_after():
    client, _ = front_with({"a": refusing(503), "b": refusing(503)})
    answer = client.post("/api/offer", json=OFFER)
    assert answer.status_code == 503 and answer.headers["retry-after"] == "5"


def test_an_unreachable_host_is_reported_and_skipped():
    def down(sent: Sent) -> HostAnswer:
        raise HostUnreachable("refused")

    client, registry = front_with({"down": down, "up": answering("pc-2")})
    assert client.post("/api/offer", json=OFFER).json()["pc_id"] == "pc-2"
    assert registry.unreachable_hosts == ["down"]


def test_session_requests_go_to_the_sessions_host_and_a_lost_one_is_410():
    seen_a: list[Sent] = []
    client, registry = front_with({"a": answering("pc-a", seen_a), "b": answering("pc-b")})
    assert client.post("/api/offer", json=OFFER).json()["pc_id"] == "pc-a"
    patch = {"pc_id": "pc-a", "candidates": []}
    assert client.patch("/api/offer", json=patch).status_code == 200
    assert [r.method for r in seen_a] == ["POST", "PATCH"]
    assert client.delete("/api/sessions/pc-a").status_code == 200
    assert registry.table.host_of("pc-a") is None
    assert client.delete("/api/sessions/nobody").status_code == 404
    assert client.post("/api/offer", json=OFFER).json()["pc_id"] == "pc-a"
    registry.table.drop_host("a", "host_lost: ActorDiedError")
    lost = client.get("/api/sessions/pc-a/events")
    assert lost.status_code == 410 and "host_lost" in lost.json()["detail"]


@pytest.mark.parametrize(
    ("body", "status"),
    [(b"{not json", 400), (b"[" * 100_000, 400), (b'{"candidates": []}', 400)],
)
def test_bad_signalling_is_refused_at_the_front(body, status):
    client, _ = front_with({"a": answering("pc-a")})
    assert client.patch("/api/offer", content=body).status_code == status


def test_the_front_wants_the_token():
    client, _ = front_with({"a": answering("pc-a")})
    assert client.post("/api/offer", json=OFFER, headers={"Authorization": ""}).status_code == 401


@pytest.mark.slow  # a fresh interpreter imports the whole app (about 8 s)
def test_serving_on_one_machine_imports_nothing_of_ray():
    import subprocess
    import sys

    probe = (
        "import sys, agent.cli, agent.edge.serve, agent.edge.app; "
        "sys.exit(1 if 'ray' in sys.modules else 0)"
    )
    assert subprocess.run([sys.executable, "-c", probe], timeout=120).returncode == 0


async def test_a_fronts_view_counts_its_own_placements_until_it_refreshes():
    table = RoutingTable()
    table.report(HostLoad("a", "http://a", 0, 1), [])
    table.report(HostLoad("b", "http://b", 0, 2), [])
    registry = FakeRegistry(table)
    view = PlacementView(registry, max_age_s=60.0)
    assert [h.host_id for h in await view.order()] == ["b", "a"]  # equal share: more room
    view.placed("a")  # a is now full: the view says so without asking the registry
    assert [h.host_id for h in await view.order()] == ["b"]
    view.drop("b")
    assert await view.order() == []
