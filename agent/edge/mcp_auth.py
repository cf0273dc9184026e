"""MCP over HTTP: its bearer token, the gate that checks it, and what "off" says."""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Receive, Scope, Send

from agent.edge.guards import bearer_value, token_ok

OFF = "MCP over HTTP is off: set server.api_token or server.mcp_token (ECO1_SERVER__MCP_TOKEN)"


def mcp_token(settings) -> str | None:
    """MCP's bearer token: its own, else the API token; None keeps MCP over HTTP off."""
    return settings.server.mcp_token or settings.server.api_token


class BearerTokenGate:
    """ASGI middleware: requests without `Authorization: Bearer <token>` get 401."""

    def __init__(self, app: ASGIApp, token: str) -> None:
        if len(token) < 16:
            raise ValueError("the MCP bearer token must be at least 16 characters")
        self._app = app
        self._token = token

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            headers = dict(scope.get("headers") or [])
            given = bearer_value(headers.get(b"authorization", b"").decode("latin-1"))
            if not token_ok(self._token, given):
                body = json.dumps({"error": "missing or wrong bearer token"}).encode()
                await send({
                    "type": "http.response.start",
                    "status": 401,
                    "headers": [
                        (b"content-type", b"application/json"),
                        (b"www-authenticate", b'Bearer realm="eco1-mcp"'),
                        (b"content-length", str(len(body)).encode()),
                    ],
                })  # fmt: skip
                await send({"type": "http.response.body", "body": body})
                return
        await self._app(scope, receive, send)
