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

from fastapi import APIRouter, FastAPI, HTTPException, Request
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles

from agent.cluster.mcp_front import build_front_mcp_server
from agent.cluster.relay import HostRelay
from agent.config import Settings
from agent.edge.ice import browser_ice_servers
from agent.edge.mcp_auth import BearerTokenGate, mcp_token
from agent.edge.routes_status import WEB_DIR
from agent.edge.signalling import parse_json, read_body
from agent.session.store import open_store


def front_mcp(settings: Settings, registry: Any):
    """The cluster's MCP endpoint behind its bearer token, and the lifespan it needs; None
    when no token is set (MCP is never open)."""
    token = mcp_token(settings)
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
        if getattr(app.state, "store", None) is not None:
            app.state.store.close()

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
        body = {"status": "ok" if ready else "starting", "hosts": hosts,
                "offers_refused_by_hosts": relay.refused}  # fmt: skip
        return JSONResponse(body, status_code=200 if ready else 503)

    @router.get("/api/avatar/schema")
    async def avatar_schema(request: Request) -> Response:
        hosts = await registry.placement.remote() or await registry.hosts.remote()
        if not hosts:
            raise HTTPException(status_code=503, detail="no session host is up yet")
        return (await relay.send(hosts[0]["url"], request)).response()

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
        body = await read_body(request, limit)
        pc_id = session_named(parse_json(body))
        if pc_id:  # a renegotiation: the session's own host
            return await relay.to_session(pc_id, request, body)
        return await relay.place(request, body)

    @router.patch("/api/offer")
    async def ice_candidates(request: Request) -> Response:
        relay.authorize(request)
        body = await read_body(request, limit)
        pc_id = session_named(parse_json(body))
        if not pc_id:
            raise HTTPException(status_code=400, detail="invalid signalling request: pc_id")
        return await relay.to_session(pc_id, request, body)

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


def session_named(payload: Any) -> str | None:
    """The `pc_id` a signalling body names, if it names one (the host checks the rest)."""
    pc_id = payload.get("pc_id") if isinstance(payload, dict) else None
    return pc_id if isinstance(pc_id, str) and pc_id else None


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
