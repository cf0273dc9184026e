"""MCP over streamable HTTP at /mcp/ in the main server, behind a bearer token."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.responses import JSONResponse

from agent.config import Settings
from agent.edge.mcp_auth import OFF, BearerTokenGate, mcp_token
from agent.session.text_tutor import TextTutor
from tools.mcp_server import build_mcp_server


def add_mcp_endpoint(app: FastAPI, settings: Settings) -> None:
    """Mount the MCP server (sharing the app's live sessions) or a route saying it is off."""
    token = mcp_token(settings)  # never open, even with open_access
    if not token:

        @app.api_route(
            "/mcp/{rest:path}", methods=["GET", "POST", "DELETE"], include_in_schema=False
        )
        async def mcp_off(rest: str = "") -> JSONResponse:
            return JSONResponse({"error": OFF}, status_code=503)

        return
    tutor = TextTutor(settings, compute=app.state.host_compute)
    server = build_mcp_server(tutor, app.state.sessions)
    app.state.mcp_server = server  # a cluster's fronts call its tools through the host
    mcp_app = server.streamable_http_app(streamable_http_path="/", host=settings.host)
    app.mount("/mcp", BearerTokenGate(mcp_app, token))
    app.state.lifespan_hooks.append(server.session_manager.run)
