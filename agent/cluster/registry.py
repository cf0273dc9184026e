"""The cluster's one routing table, as a named Ray actor every front replica reads.

It asks each session host for its load every `cluster.health_interval_s`; a host that has
died (Ray says so at once) or has not answered for `cluster.host_timeout_s` leaves the
routing, and its sessions are marked lost: each gets a `session_ended` event with reason
`host_lost` in the shared store, so a client that asks finds out why its session ended.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import asdict
from typing import Any

import ray
from loguru import logger

from agent.cluster.routing import HostLoad, RoutingTable, placement_order
from agent.config import Settings

REGISTRY_NAME = "eco1-registry"
NAMESPACE = "eco1"


class Registry:
    """Hosts, their load and their sessions; the fronts ask it where to send a request."""

    def __init__(self, settings_json: str) -> None:
        self._settings = Settings.model_validate_json(settings_json)
        self._table = RoutingTable()
        self._handles: dict[str, Any] = {}
        self._last_heard: dict[str, float] = {}
        self._checking: asyncio.Task | None = None
        self._dropped: set[str] = set()  # hosts taken out of the routing, to be replaced
        self._store = None  # opened on first loss: only a shared store can tell clients

    async def register_host(self, host_id: str, handle: Any, url: str, capacity: int) -> None:
        self._handles[host_id] = handle
        self._dropped.discard(host_id)
        self._last_heard[host_id] = time.monotonic()
        self._table.report(HostLoad(host_id, url, 0, capacity), [])
        if self._checking is None:
            self._checking = asyncio.get_running_loop().create_task(self._check_forever())
        logger.info("session host {} registered at {}", host_id, url)

    async def placement(self) -> list[dict]:
        """Hosts a new learner may go to, the best first."""
        return [asdict(h) for h in placement_order(list(self._table.hosts.values()))]

    async def placed(self, session_id: str, host_id: str) -> None:
        self._table.placed(session_id, host_id)

    async def route(self, session_id: str) -> dict:
        """{"host": the host's load} for a live session, {"lost": reason} for one whose host
        died, {} for a session this cluster does not know."""
        host = self._table.host_of(session_id)
        if host is not None:
            return {"host": asdict(host)}
        reason = self._table.lost_reason(session_id)
        return {"lost": reason} if reason else {}

    async def ended(self, session_id: str) -> None:
        self._table.ended(session_id)

    async def unreachable(self, host_id: str) -> None:
        """A front could not reach the host: check it now rather than at the next round."""
        await self._check(host_id)

    async def handle_of(self, session_id: str) -> Any:
        """The actor of the host holding the session, or None (see `route` for why)."""
        host = self._table.host_of(session_id)
        return self._handles.get(host.host_id) if host else None

    async def handles(self) -> dict[str, Any]:
        """Every live host's actor, by host id."""
        return dict(self._handles)

    async def dropped(self) -> list[str]:
        """Hosts this registry took out of the routing (dead or silent)."""
        return sorted(self._dropped)

    async def hosts(self) -> list[dict]:
        return [asdict(h) for h in self._table.hosts.values()]

    async def _check_forever(self) -> None:
        interval = self._settings.cluster.health_interval_s
        while True:
            await asyncio.gather(*(self._check(h) for h in list(self._handles)))
            await asyncio.sleep(interval)

    async def _check(self, host_id: str) -> None:
        handle = self._handles.get(host_id)
        if handle is None:
            return
        timeout = self._settings.cluster.host_timeout_s
        try:
            report = await asyncio.wait_for(handle.report.remote(), timeout)
        except (ray.exceptions.RayActorError, ray.exceptions.ActorUnavailableError) as exc:
            self._drop(host_id, f"host_lost: {type(exc).__name__}")
            return
        except TimeoutError:
            if time.monotonic() - self._last_heard.get(host_id, 0.0) > timeout:
                self._drop(host_id, "host_lost: no answer")
            return
        self._last_heard[host_id] = time.monotonic()
        load = HostLoad(host_id, report["url"], report["sessions"], report["capacity"],
                        report["ready"])  # fmt: skip
        self._table.report(load, report["session_ids"])

    def _drop(self, host_id: str, reason: str) -> None:
        if self._handles.pop(host_id, None) is None:
            return
        self._dropped.add(host_id)
        orphans = self._table.drop_host(host_id, reason)
        logger.warning("session host {} dropped ({}); {} sessions lost", host_id, reason,
                       len(orphans))  # fmt: skip
        self._tell_lost(orphans, reason)

    def _tell_lost(self, session_ids: list[str], reason: str) -> None:
        """Each lost session's last event, where clients of any host can read it."""
        if not session_ids or not self._settings.store.url:
            return
        from agent.session.store import open_store

        try:
            if self._store is None:
                self._store = open_store(self._settings.store.url, self._settings.server.db_path)
            for session_id in session_ids:
                self._store.record(session_id, {"type": "session_ended", "reason": reason})
        except Exception as exc:  # the store being down must not stop the health checks
            logger.error("could not record lost sessions: {}", exc)


def registry_actor(settings: Settings, node_id: str):
    """The cluster's registry on `node_id` (the head's, with the fronts), created on first
    use and found by name afterwards. Ray restarts it if its process dies (every handle
    stays valid); it comes back empty, the launcher registers the hosts again, and the
    hosts' next reports bring back their sessions."""
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    remote = ray.remote(num_cpus=0, max_concurrency=1000, max_restarts=-1, max_task_retries=3)(
        Registry
    )
    return remote.options(
        name=REGISTRY_NAME, namespace=NAMESPACE, get_if_exists=True, lifetime="detached",
        scheduling_strategy=NodeAffinitySchedulingStrategy(node_id=node_id, soft=False),
    ).remote(settings.model_dump_json())  # fmt: skip
