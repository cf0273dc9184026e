"""The page, health, metrics and the read-only session API."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse, JSONResponse, Response

from agent.edge.ice import browser_ice_servers
from agent.edge.state import EdgeState
from avatar.blendshapes import ARKIT_BLENDSHAPES
from avatar.frames import MOTION_PROTOCOL_VERSION
from avatar.visemes import VISEMES

WEB_DIR = Path(__file__).resolve().parents[2] / "avatar" / "web"


def status_routes(edge: EdgeState) -> APIRouter:
    router = APIRouter()
    settings = edge.settings

    @router.get("/", include_in_schema=False)
    async def index() -> FileResponse:
        return FileResponse(WEB_DIR / "index.html")

    @router.get("/healthz")
    async def healthz() -> JSONResponse:
        ready = edge.ready.is_set()
        body = {
            "status": "ok" if ready else "starting",
            "sessions": len(edge.manager.sessions),
            "max_sessions": settings.server.max_sessions,
            "profile": settings.profile,
            "llm_backend": settings.llm.backend,
            "llm_read_ahead": edge.read_ahead,
        }
        return JSONResponse(body, status_code=200 if ready else 503)

    @router.get("/metrics", include_in_schema=False)
    async def prometheus() -> Response:
        return Response(
            edge.metrics.render(), media_type="text/plain; version=0.0.4; charset=utf-8"
        )

    @router.get("/api/avatar/schema")
    async def avatar_schema() -> dict:
        """Names behind the motion frames' arrays, in wire order (docs/protocol.md)."""
        return {
            "version": MOTION_PROTOCOL_VERSION,
            "visemes": list(VISEMES),
            "blendshapes": list(ARKIT_BLENDSHAPES),
        }

    return router


def session_routes(edge: EdgeState) -> APIRouter:
    """A session's record (events, turns) and ending it; all need the API token."""
    router = APIRouter()
    authorize = edge.admission.authorize

    @router.get("/api/ice-servers")
    async def ice(request: Request) -> list[dict]:
        """The STUN/TURN servers the page gives its peer connection (with TURN's password,
        so behind the token)."""
        authorize(request)
        return browser_ice_servers(edge.settings)

    @router.get("/api/sessions/{session_id}/events")
    async def session_events(
        session_id: str, request: Request, kind: str | None = None
    ) -> list[dict]:
        """Every event the session's learner was sent, from the durable store."""
        authorize(request)
        events = edge.store.events(session_id, kind)
        if not events and session_id not in {s["id"] for s in edge.store.sessions()}:
            raise HTTPException(status_code=404, detail=f"no session {session_id!r}")
        return events

    @router.get("/api/turns")
    async def recent_turns(request: Request, limit: int = 100) -> list[dict]:
        """The latest answered turns with their stage latencies (newest last)."""
        authorize(request)
        turns = list(edge.metrics.recent_turns)[-max(1, limit) :]
        return [asdict(record) for record in turns]

    @router.delete("/api/sessions/{session_id}")
    async def end_session(session_id: str, request: Request) -> dict:
        authorize(request)
        if not await edge.manager.stop(session_id):
            raise HTTPException(status_code=404, detail=f"no session {session_id!r}")
        return {"status": "ended"}

    return router
