"""How a front sends a learner's request on to a session host, as from the learner.

The body travels as it came (read once, bounded, never re-encoded); the learner's address
goes in `X-Forwarded-For`, which the hosts trust from cluster nodes only. The front keeps a
view of the hosts' load for up to `cluster.placement_view_s` (default: the health interval)
and counts its own placements in it, so most offers cost no registry call before they are
relayed (a host another front filled meanwhile refuses, and the next is tried); the
registry still learns each placement before the learner gets the answer, so the session's
next request finds its host through any front.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import Any

import aiohttp
from fastapi import HTTPException, Request
from fastapi.responses import Response

from agent.cluster.routing import HostLoad, placement_order
from agent.config import Settings
from agent.edge.guards import TOKEN_CHALLENGE, TOKEN_REFUSED, presented_token, token_ok
from agent.session.bounded_json import loads_bounded

RELAYED_HEADERS = ("authorization", "origin", "content-type", "user-agent")


@dataclass(frozen=True)
class HostAnswer:
    status: int
    content: bytes
    content_type: str | None = None
    retry_after: str | None = None

    def json(self) -> Any:
        return loads_bounded(self.content)

    def response(self) -> Response:
        headers = {"retry-after": self.retry_after} if self.retry_after else {}
        return Response(self.content, self.status, headers, media_type=self.content_type)


class HostUnreachable(ConnectionError):
    """The host did not answer: refused, reset or past `cluster.forward_timeout_s`."""


class AiohttpTransport:
    """One pooled HTTP client per front, made on first use inside its event loop."""

    def __init__(self, timeout_s: float) -> None:
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._session: aiohttp.ClientSession | None = None

    async def fetch(self, method: str, url: str, params, body: bytes, headers) -> HostAnswer:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        try:
            async with self._session.request(
                method, url, params=params, data=body or None, headers=headers
            ) as answer:
                return HostAnswer(answer.status, await answer.read(), answer.content_type,
                                  answer.headers.get("retry-after"))  # fmt: skip
        except (TimeoutError, aiohttp.ClientConnectionError) as exc:
            raise HostUnreachable(f"{method} {url}: {exc!r}") from exc

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()


class PlacementView:
    """The hosts a new learner may go to, best first, at most one interval old."""

    def __init__(self, registry: Any, max_age_s: float) -> None:
        self._registry = registry
        self._max_age = max_age_s
        self._hosts: list[HostLoad] = []
        self._at = float("-inf")

    async def order(self, refresh: bool = False) -> list[HostLoad]:
        if refresh or time.monotonic() - self._at > self._max_age:
            self._hosts = [HostLoad(**h) for h in await self._registry.placement.remote()]
            self._at = time.monotonic()
        return placement_order(self._hosts)

    def placed(self, host_id: str) -> None:
        self._hosts = [replace(h, sessions=h.sessions + 1) if h.host_id == host_id else h
                       for h in self._hosts]  # fmt: skip

    def drop(self, host_id: str) -> None:
        self._hosts = [h for h in self._hosts if h.host_id != host_id]


class HostRelay:
    """Authorizes, places and routes a front's requests."""

    def __init__(self, settings: Settings, registry: Any) -> None:
        self.settings = settings
        self.registry = registry
        self.transport = AiohttpTransport(settings.cluster.forward_timeout_s)
        cluster = settings.cluster
        self.view = PlacementView(registry, cluster.placement_view_s or cluster.health_interval_s)
        self._token = None if settings.server.open_access else settings.server.api_token
        self.refused = 0  # offers a host refused as full, passed on to the next

    def authorize(self, request: Request) -> None:
        """The same token check as a host's, so junk is refused before it travels."""
        if not token_ok(self._token, presented_token(request.headers, request.query_params)):
            raise HTTPException(status_code=401, detail=TOKEN_REFUSED, headers=TOKEN_CHALLENGE)

    async def send(self, url: str, request: Request, body: bytes = b"") -> HostAnswer:
        headers = {k: v for k, v in request.headers.items() if k.lower() in RELAYED_HEADERS}
        headers["x-forwarded-for"] = request.client.host if request.client else "?"
        return await self.transport.fetch(
            request.method,
            url + request.url.path,
            list(request.query_params.multi_items()),
            body,
            headers,
        )

    async def place(self, request: Request, body: bytes) -> Response:
        """A new learner: the hosts by load until one takes the offer; when every host in
        the view refused, once more from the registry's current load (the view may think
        a host full that has since freed a slot)."""
        tried: set[str] = set()
        for refresh in (False, True):
            for host in await self.view.order(refresh):
                if host.host_id in tried:
                    continue
                tried.add(host.host_id)
                try:
                    answer = await self.send(host.url, request, body)
                except HostUnreachable:
                    self.view.drop(host.host_id)
                    await self.registry.unreachable.remote(host.host_id)
                    continue
                if answer.status == 503:
                    self.refused += 1
                    self.view.drop(host.host_id)  # full since the view was taken
                    continue
                if answer.status == 200:
                    await self.registry.placed.remote(answer.json()["pc_id"], host.host_id)
                    self.view.placed(host.host_id)
                return answer.response()
        raise HTTPException(
            status_code=503, detail="every session host is at capacity; try again shortly",
            headers={"Retry-After": "5"},
        )  # fmt: skip

    async def to_session(self, session_id: str, request: Request, body: bytes = b"") -> Response:
        """A request about one session, sent to the host holding it."""
        route = await self.registry.route.remote(session_id)
        if "lost" in route:
            raise HTTPException(
                status_code=410,
                detail=f"session {session_id!r} ended: its host was lost ({route['lost']})",
            )
        if "host" not in route:
            raise HTTPException(status_code=404, detail=f"no session {session_id!r}")
        try:
            return (await self.send(route["host"]["url"], request, body)).response()
        except HostUnreachable as exc:
            await self.registry.unreachable.remote(route["host"]["host_id"])
            raise HTTPException(
                status_code=502, detail=f"the host of session {session_id!r} did not answer"
            ) from exc

    async def close(self) -> None:
        await self.transport.close()
