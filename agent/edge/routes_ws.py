"""A whole session over one WebSocket, for clients without WebRTC."""

from __future__ import annotations

import asyncio
import re
import uuid

from fastapi import APIRouter, HTTPException, WebSocket

from agent.edge.admission import client_address
from agent.edge.signalling import LEARNER_ID
from agent.edge.state import EdgeState
from agent.session.client_events import event
from agent.session.transports import websocket_connection
from agent.session.ws_serializer import SUPPORTED_RATES

CLOSE_CODES = {401: 1008, 403: 1008, 429: 1008, 503: 1013}  # HTTP refusal -> close code


async def refuse(websocket: WebSocket, message: str, code: int) -> None:
    """An error event the client can show, then the close frame."""
    await websocket.send_json(event("error", message=message))
    await websocket.close(code=code, reason=message[:120])


def websocket_routes(edge: EdgeState) -> APIRouter:
    router = APIRouter()
    admission, manager = edge.admission, edge.manager

    @router.websocket("/ws")
    async def websocket_session(
        websocket: WebSocket, rate: str = "16000", learner: str | None = None
    ) -> None:
        """A whole session over one WebSocket: PCM audio both ways plus the JSON events.

        Checked in the order of the HTTP routes: token, then the client's own parameters,
        then origin and rate limit, then capacity; every refusal is an error event."""
        await websocket.accept()
        try:
            admission.authorize(websocket)
        except HTTPException as refused:
            return await refuse(websocket, refused.detail, 1008)
        if learner is not None and not re.match(LEARNER_ID, learner):
            return await refuse(websocket, "learner must be 1-128 letters, digits or _ . @ -", 1003)
        if not rate.isdigit() or int(rate) not in SUPPORTED_RATES:
            message = f"rate {rate[:20]!r} Hz is not supported; use one of {SUPPORTED_RATES}"
            return await refuse(websocket, message, 1003)
        client = client_address(websocket)
        try:
            admission.admit(websocket.headers.get("origin"), client)
            admission.reserve(client)
        except HTTPException as refused:
            return await refuse(websocket, refused.detail, CLOSE_CODES[refused.status_code])
        try:
            connection = websocket_connection(
                websocket, f"ws-{uuid.uuid4().hex[:16]}", int(rate), learner,
                on_reject=edge.metrics.client_messages_rejected.inc, client=client,
            )  # fmt: skip
            session = await manager.start(connection)
        finally:
            manager.release_reservation()
        if session.task:  # keep the socket open for as long as the session runs
            await asyncio.wait({session.task})

    return router
