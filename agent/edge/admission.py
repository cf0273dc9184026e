"""Who may open a session: token, origin, rate and capacity, checked before any work.

One object for the three doors (WebRTC offer, its renegotiation, /ws), so a check added to
one cannot be missed on another (the admission bypass of issue #25 was such a miss).
"""

from __future__ import annotations

from fastapi import HTTPException
from fastapi.requests import HTTPConnection

from agent.config import Settings
from agent.edge.guards import (
    TOKEN_CHALLENGE,
    TOKEN_REFUSED,
    RateLimiter,
    origin_allowed,
    presented_token,
    token_ok,
)
from agent.session.manager import CapacityError, SessionManager
from agent.session.metrics import ServiceMetrics


def client_address(connection: HTTPConnection) -> str:
    return connection.client.host if connection.client else "?"


class Admission:
    """Each check raises the HTTPException a client should see and counts the refusal."""

    def __init__(self, settings: Settings, metrics: ServiceMetrics, manager: SessionManager):
        server = settings.server
        self._token = None if server.open_access else server.api_token
        self._origins = server.allowed_origins
        self._limiter = RateLimiter(server.offers_per_minute)
        self._metrics = metrics
        self._manager = manager

    def _refuse(self, reason: str, status: int, detail: str, headers=None) -> HTTPException:
        self._metrics.offers_rejected.labels(reason=reason).inc()
        return HTTPException(status_code=status, detail=detail, headers=headers)

    def authorize(self, connection: HTTPConnection) -> None:
        """401 unless the request carries the API token (when one is configured)."""
        if not token_ok(self._token, presented_token(connection.headers, connection.query_params)):
            raise self._refuse("token", 401, TOKEN_REFUSED, TOKEN_CHALLENGE)

    def admit(self, origin: str | None, client: str) -> None:
        """Origin and rate checks before any work is done for a new session (or a
        renegotiation); each admission counts against the client's allowance."""
        if not origin_allowed(origin, self._origins):
            raise self._refuse("origin", 403, f"origin {origin!r} is not allowed")
        wait = self._limiter.retry_after(client)
        if wait > 0:
            raise self._refuse(
                "rate", 429, f"too many new sessions from {client}; retry in {wait:.0f} s",
                {"Retry-After": str(int(wait) + 1)},
            )  # fmt: skip

    def reserve(self, client: str) -> None:
        """Hold a session slot (503 when full); a refusal here costs the client no allowance."""
        try:
            self._manager.reserve()
        except CapacityError as exc:
            self._limiter.refund(client)
            raise self._refuse("capacity", 503, str(exc)) from exc

    def renegotiable(self, pc_id: str, client: str) -> None:
        """404 unless pc_id is a live WebRTC session opened from this client address.

        Anything else would reach Pipecat's handler as an unknown pc_id and start a new
        session past the capacity and rate checks.
        """
        session = self._manager.sessions.get(pc_id)
        connection = session.connection if session is not None else None
        if connection is None or connection.kind != "webrtc" or connection.client != client:
            raise self._refuse("unknown_pc_id", 404, f"no WebRTC session with pc_id {pc_id!r}")
