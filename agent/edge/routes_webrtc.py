"""WebRTC signalling: the offer that opens (or renegotiates) a session, and ICE patches."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from loguru import logger
from pipecat.transports.smallwebrtc.request_handler import (
    IceCandidate,
    SmallWebRTCPatchRequest,
    SmallWebRTCRequest,
)

from agent.edge.admission import client_address
from agent.edge.signalling import OfferBody, PatchBody, bad_request, check_sdp, parse, read_json
from agent.edge.state import EdgeState


def webrtc_routes(edge: EdgeState) -> APIRouter:
    router = APIRouter()

    @router.post("/api/offer")
    async def offer(request: Request) -> dict:
        return await answer_offer(edge, request)

    @router.patch("/api/offer")
    async def ice_candidates(request: Request) -> dict:
        return await add_candidates(edge, request)

    return router


async def answer_offer(edge: EdgeState, request: Request) -> dict:
    """Admit the offer, start the learner's session on it, and return the SDP answer."""
    admission, manager, metrics = edge.admission, edge.manager, edge.metrics
    body, client = await _offer_body(edge, request)
    if not body.pc_id:
        admission.reserve(client)
    webrtc_request = SmallWebRTCRequest(
        sdp=body.sdp, type=body.type, pc_id=body.pc_id, restart_pc=body.restart_pc
    )
    start_failure: list[Exception] = []

    async def start_session(connection) -> None:
        # Pipecat's handler logs and swallows callback errors; keep ours to answer 500.
        try:
            if body.pc_id:  # never a new session from a renegotiation
                raise RuntimeError(f"pc_id {body.pc_id!r} has no peer connection")
            await manager.start_webrtc(connection, body.learner, client)
        except Exception as exc:
            start_failure.append(exc)
            await connection.disconnect()

    try:
        answer = await edge.webrtc.handle_web_request(webrtc_request, start_session)
    except Exception as exc:
        metrics.offers_rejected.labels(reason="negotiation").inc()
        raise bad_request(f"could not negotiate WebRTC from this offer: {exc}") from exc
    finally:
        if not body.pc_id:
            manager.release_reservation()
    if start_failure:
        metrics.offers_rejected.labels(reason="session_start").inc()
        logger.error("session start failed: {}", start_failure[0])
        raise HTTPException(
            status_code=500, detail=f"could not start a session: {start_failure[0]}"
        )
    return answer


async def _offer_body(edge: EdgeState, request: Request) -> tuple[OfferBody, str]:
    """The checked offer and its client's address; garbage is refused cheaply, before a
    plausible offer costs a handshake."""
    admission = edge.admission
    admission.authorize(request)
    body = parse(OfferBody, await read_json(request, edge.settings.server.max_sdp_bytes))
    check_sdp(body.sdp)
    client = client_address(request)
    if body.pc_id:
        admission.renegotiable(body.pc_id, client)
    admission.admit(request.headers.get("origin"), client)
    return body, client


async def add_candidates(edge: EdgeState, request: Request) -> dict:
    """Trickled ICE candidates for a live session's peer connection."""
    edge.admission.authorize(request)
    body = parse(PatchBody, await read_json(request, edge.settings.server.max_sdp_bytes))
    if body.pc_id not in edge.manager.sessions:
        raise HTTPException(status_code=404, detail=f"no session with pc_id {body.pc_id!r}")
    patch = SmallWebRTCPatchRequest(
        pc_id=body.pc_id,
        candidates=[
            IceCandidate(c.candidate, c.sdp_mid or "0", c.sdp_mline_index or 0)
            for c in body.candidates
        ],
    )
    try:
        await edge.webrtc.handle_patch_request(patch)
    except HTTPException:
        raise
    except Exception as exc:
        raise bad_request(f"invalid ICE candidate: {exc}") from exc
    return {"status": "ok"}
