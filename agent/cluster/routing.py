"""Which host takes a new learner, and which host holds a session: pure state, no Ray.

The registry actor (agent/cluster/registry.py) keeps one `RoutingTable` for every front
replica, so a front that dies loses nothing. Hosts report their load every health interval;
between reports a placement counts against its host at once, so a burst of offers spreads
out instead of all landing on the host that looked emptiest a moment ago.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass, field, replace

LOST_KEPT = 10_000  # sessions remembered as lost with their host, oldest forgotten first
PLACEMENT_GRACE_S = 30.0  # a placed session not yet in its host's report is still starting


@dataclass(frozen=True)
class HostLoad:
    """One session host as the registry last heard from it."""

    host_id: str
    url: str  # its HTTP endpoint inside the cluster
    sessions: int
    capacity: int
    ready: bool = True

    @property
    def free(self) -> int:
        return self.capacity - self.sessions

    @property
    def share(self) -> float:
        return self.sessions / self.capacity if self.capacity else 1.0


def placement_order(hosts: list[HostLoad]) -> list[HostLoad]:
    """Ready hosts with a free slot, the least loaded (share of capacity) first, then the
    one with most free slots; the front tries them in this order until one accepts."""
    open_hosts = [h for h in hosts if h.ready and h.free > 0]
    return sorted(open_hosts, key=lambda h: (h.share, -h.free, h.host_id))


@dataclass
class Placement:
    host_id: str
    at: float = field(default_factory=time.monotonic)


class RoutingTable:
    """Hosts with their load, sessions with their host, and sessions whose host was lost."""

    def __init__(self) -> None:
        self.hosts: dict[str, HostLoad] = {}
        self._placed: dict[str, Placement] = {}
        self._lost: OrderedDict[str, str] = OrderedDict()

    def report(self, load: HostLoad, session_ids: list[str]) -> None:
        """A host's own account: its load, and the sessions it holds. Sessions it no longer
        holds (ended, timed out) leave the table unless they were placed a moment ago and
        are still starting."""
        now = time.monotonic()
        held = set(session_ids)
        for session_id, placement in list(self._placed.items()):
            recent = now - placement.at < PLACEMENT_GRACE_S
            if placement.host_id == load.host_id and session_id not in held and not recent:
                del self._placed[session_id]
        for session_id in held:  # known from the host itself: no grace when it ends
            self._placed[session_id] = Placement(load.host_id, at=float("-inf"))
        starting = sum(
            1 for s, p in self._placed.items() if p.host_id == load.host_id and s not in held
        )
        self.hosts[load.host_id] = replace(load, sessions=load.sessions + starting)

    def placed(self, session_id: str, host_id: str) -> None:
        self._placed[session_id] = Placement(host_id)
        host = self.hosts.get(host_id)
        if host is not None:
            self.hosts[host_id] = replace(host, sessions=host.sessions + 1)

    def host_of(self, session_id: str) -> HostLoad | None:
        placement = self._placed.get(session_id)
        return self.hosts.get(placement.host_id) if placement else None

    def lost_reason(self, session_id: str) -> str | None:
        """Why a session that was placed here has no host any more, if it was lost."""
        return self._lost.get(session_id)

    def ended(self, session_id: str) -> None:
        self._placed.pop(session_id, None)

    def drop_host(self, host_id: str, reason: str) -> list[str]:
        """Take a host out of the routing; returns the sessions it held, now lost."""
        self.hosts.pop(host_id, None)
        orphans = [s for s, p in self._placed.items() if p.host_id == host_id]
        for session_id in orphans:
            del self._placed[session_id]
            self._lost[session_id] = reason
        while len(self._lost) > LOST_KEPT:
            self._lost.popitem(last=False)
        return orphans

    def sessions_on(self, host_id: str) -> list[str]:
        return [s for s, p in self._placed.items() if p.host_id == host_id]
