"""The cluster's front: the page, and signalling relayed to the host that holds a session.

A front keeps no state of its own (the registry actor has the routing), so any replica can
answer any request and one that dies loses nothing. A new offer goes to the least loaded
host; a host at capacity answers 503 and the next is tried; a host that cannot be reached
is reported to the registry and skipped. Requests about a session (ICE patches, a
renegotiation, DELETE, its events) go to the host that holds it; a session whose host died
answers 410 with the reason. With a shared store (`store.url`), a session's events are read
from the store here, so they outlive their host.
"""

from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager, nullcontext
from typing import Any

import httpx
from fastapi import APIRouter, FastAPI, HTTPException, Request
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles

from agent.cluster.mcp_front import build_front_mcp_server
from agent.config import Settings
from agent.edge.guards import presented_token, token_ok
from agent.edge.ice import browser_ice_servers
from agent.edge.mcp_auth import BearerTokenGate
from agent.edge.routes_status import WEB_DIR
from agent.edge.signalling import read_json
from agent.session.store import open_store

RELAYED_HEADERS = ("authorization", "origin", "content-type", "user-agent")


class HostRelay:
    """Sends a learner's request on to a session host, as from the learner."""

    def __init__(self, settings: Settings, registry: Any) -> None:
        self.settings = settings
        self.registry = registry
        self._http = httpx.AsyncClient(timeout=settings.cluster.forward_timeout_s)
        self._token = None if settings.server.open_access else settings.server.api_token

    def authorize(self, request: Request) -> None:
        """The same token check as a host's, so junk is refused before it travels."""
        if not token_ok(self._token, presented_token(request.headers, request.query_params)):
            raise HTTPException(
                status_code=401,
                detail="missing or wrong API token (Authorization: Bearer <token> or ?token=)",
                headers={"WWW-Authenticate": 'Bearer realm="eco1"'},
            )

    async def send(self, host: dict, request: Request, payload: Any = None) -> httpx.Response:
        headers = {k: v for k, v in request.headers.items() if k.lower() in RELAYED_HEADERS}
        headers["x-forwarded-for"] = request.client.host if request.client else "?"
        return await self._http.request(
            request.method, host["url"] + request.url.path, params=request.query_params,
            json=payload, headers=headers,
        )  # fmt: skip

    async def place(self, request: Request, payload: Any) -> Response:
        """A new learner: the hosts in the registry's order until one takes the offer."""
        for host in await self.registry.placement.remote():
            try:
                answer = await self.send(host, request, payload)
            except httpx.TransportError:
                await self.registry.unreachable.remote(host["host_id"])
                continue
            if answer.status_code == 503:
                continue  # at capacity since its last report: the next one
            if answer.status_code == 200:
                await self.registry.placed.remote(answer.json()["pc_id"], host["host_id"])
            return relayed(answer)
        raise HTTPException(
            status_code=503, detail="every session host is at capacity; try again shortly",
            headers={"Retry-After": "5"},
        )  # fmt: skip

    async def to_session(self, session_id: str, request: Request, payload: Any = None):
        route = await self.registry.route.remote(session_id)
        if "lost" in route:
            raise HTTPException(
                status_code=410,
                detail=f"session {session_id!r} ended: its host was lost ({route['lost']})",
            )
        if "host" not in route:
            raise HTTPException(status_code=404, detail=f"no session {session_id!r}")
        try:
            answer = await self.send(route["host"], request, payload)
        except httpx.TransportError as exc:
            await self.registry.unreachable.remote(route["host"]["host_id"])
            raise HTTPException(
                status_code=502, detail=f"the host of session {session_id!r} did not answer"
            ) from exc
        return relayed(answer)

    async def close(self) -> None:
        await self._http.aclose()


def relayed(answer: httpx.Response) -> Response:
    headers = {k: v for k, v in answer.headers.items() if k.lower() in ("retry-after",)}
    return Response(answer.content, status_code=answer.status_code, headers=headers,
                    media_type=answer.headers.get("content-type"))  # fmt: skip


def front_mcp(settings: Settings, registry: Any):
    """The cluster's MCP endpoint behind its bearer token, and the lifespan it needs; None
    when no token is set (MCP is never open)."""
    token = settings.server.mcp_token or settings.server.api_token
    if not token:
        return None, None
    server = build_front_mcp_server(registry)
    mcp_app = server.streamable_http_app(streamable_http_path="/", host=settings.host)
    return BearerTokenGate(mcp_app, token), server.session_manager.run


def create_front(settings: Settings, registry: Any) -> FastAPI:
    """One front replica's app: the page, signalling and session routes, MCP."""
    relay = HostRelay(settings, registry)
    mcp_app, mcp_running = front_mcp(settings, registry)

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        async with mcp_running() if mcp_running else nullcontext():
            yield
        await relay.close()

    app = FastAPI(title="Eco-1 front", docs_url=None, redoc_url=None, openapi_url=None,
                  lifespan=lifespan)  # fmt: skip
    app.state.relay = relay
    app.mount("/static", StaticFiles(directory=WEB_DIR), name="static")
    if mcp_app is not None:
        app.mount("/mcp", mcp_app)
    app.include_router(page_routes(relay))
    app.include_router(session_routes(relay, app))
    return app


def page_routes(relay: HostRelay) -> APIRouter:
    """What the page loads before it has a session: itself, health, schema, ICE servers."""
    router, registry = APIRouter(), relay.registry

    @router.get("/", include_in_schema=False)
    async def index() -> FileResponse:
        return FileResponse(WEB_DIR / "index.html")

    @router.get("/healthz")
    async def healthz() -> JSONResponse:
        hosts = await registry.hosts.remote()
        ready = any(h["ready"] for h in hosts)
        body = {"status": "ok" if ready else "starting", "hosts": hosts}
        return JSONResponse(body, status_code=200 if ready else 503)

    @router.get("/api/avatar/schema")
    async def avatar_schema(request: Request) -> Response:
        hosts = await registry.placement.remote() or await registry.hosts.remote()
        if not hosts:
            raise HTTPException(status_code=503, detail="no session host is up yet")
        return relayed(await relay.send(hosts[0], request))

    @router.get("/api/ice-servers")
    async def ice(request: Request) -> list[dict]:
        relay.authorize(request)
        return browser_ice_servers(relay.settings)

    return router


def session_routes(relay: HostRelay, app: FastAPI) -> APIRouter:
    """Signalling and a session's requests, each relayed to the host that owns it."""
    router, registry = APIRouter(), relay.registry
    limit = relay.settings.server.max_sdp_bytes

    @router.post("/api/offer")
    async def offer(request: Request) -> Response:
        relay.authorize(request)
        payload = await read_json(request, limit)
        pc_id = payload.get("pc_id") if isinstance(payload, dict) else None
        if isinstance(pc_id, str) and pc_id:  # a renegotiation: the session's own host
            return await relay.to_session(pc_id, request, payload)
        return await relay.place(request, payload)

    @router.patch("/api/offer")
    async def ice_candidates(request: Request) -> Response:
        relay.authorize(request)
        payload = await read_json(request, limit)
        pc_id = payload.get("pc_id") if isinstance(payload, dict) else None
        if not isinstance(pc_id, str) or not pc_id:
            raise HTTPException(status_code=400, detail="invalid signalling request: pc_id")
        return await relay.to_session(pc_id, request, payload)

    @router.delete("/api/sessions/{session_id}")
    async def end_session(session_id: str, request: Request) -> Response:
        relay.authorize(request)
        answer = await relay.to_session(session_id, request)
        if answer.status_code == 200:
            await registry.ended.remote(session_id)
        return answer

    @router.get("/api/sessions/{session_id}/events")
    async def session_events(session_id: str, request: Request) -> Response:
        relay.authorize(request)
        if relay.settings.store.url:  # shared: readable whether or not its host is alive
            return await shared_events(app, session_id, request.query_params.get("kind"))
        return await relay.to_session(session_id, request)

    return router


async def shared_events(app: FastAPI, session_id: str, kind: str | None) -> Response:
    """A session's events from the shared store, opened on first use."""
    settings: Settings = app.state.relay.settings
    if getattr(app.state, "store", None) is None:
        app.state.store = await asyncio.to_thread(
            open_store, settings.store.url, settings.server.db_path
        )
    store = app.state.store
    events = await asyncio.to_thread(store.events, session_id, kind)
    if not events:
        raise HTTPException(status_code=404, detail=f"no session {session_id!r}")
    return JSONResponse(events)
