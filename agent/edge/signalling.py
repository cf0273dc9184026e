"""Validation of WebRTC signalling requests, before anything reaches aiortc.

Bad input gets a 400 that says what is wrong; the server never half-builds a session
from a request it could have rejected up front.
"""

from __future__ import annotations

from typing import Any

from fastapi import HTTPException, Request
from pydantic import BaseModel, Field, ValidationError, field_validator

from agent.session.bounded_json import JSONInputError, loads_bounded

# Who is learning (personalization picks their delta); the delta store's user-id alphabet.
LEARNER_ID = r"^[A-Za-z0-9_.@-]{1,128}$"


class OfferBody(BaseModel):
    """POST /api/offer: a new offer, or a renegotiation when pc_id names a live session."""

    sdp: str = Field(min_length=1)
    type: str = Field(pattern="^offer$")
    pc_id: str | None = None
    restart_pc: bool | None = None
    learner: str | None = Field(default=None, pattern=LEARNER_ID)


class CandidateBody(BaseModel):
    """One trickled ICE candidate; an empty `candidate` marks the end of candidates."""

    candidate: str = Field(max_length=1024)
    sdp_mid: str | None = Field(default=None, max_length=64)
    sdp_mline_index: int | None = Field(default=None, ge=0, le=1024)

    @field_validator("candidate")
    @classmethod
    def _well_formed(cls, value: str) -> str:
        if value:
            check_candidate(value)
        return value


def check_candidate(line: str) -> None:
    """ValueError unless `line` is an ICE candidate whose numbers are in range (RFC 8445)."""
    from aiortc.sdp import candidate_from_sdp

    text = line.removeprefix("a=")
    try:
        parsed = candidate_from_sdp(text.removeprefix("candidate:"))
    except (AssertionError, ValueError, IndexError, KeyError) as exc:
        raise ValueError(f"not an ICE candidate line: {str(exc) or 'too few fields'}") from exc
    if not 1 <= parsed.component <= 256:
        raise ValueError(f"component {parsed.component} is not in 1-256")
    if not 0 <= parsed.port <= 65535:
        raise ValueError(f"port {parsed.port} is not in 0-65535")
    if not 0 <= parsed.priority < 2**32:
        raise ValueError(f"priority {parsed.priority} is not in 0-2^32")
    if parsed.relatedPort is not None and not 0 <= parsed.relatedPort <= 65535:
        raise ValueError(f"related port {parsed.relatedPort} is not in 0-65535")


class PatchBody(BaseModel):
    """PATCH /api/offer: trickled ICE candidates for a live session."""

    pc_id: str = Field(min_length=1)
    candidates: list[CandidateBody] = Field(max_length=64)


def bad_request(message: str) -> HTTPException:
    return HTTPException(status_code=400, detail=message)


async def read_body(request: Request, limit: int) -> bytes:
    """The request's body, refused with 400 once it is over limit bytes."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise bad_request(f"request body of {declared} bytes exceeds the {limit}-byte limit")
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > limit:
            raise bad_request(f"request body exceeds the {limit}-byte limit")
    return bytes(body)


def parse_json(body: bytes) -> Any:
    try:
        return loads_bounded(body)
    except JSONInputError as exc:
        raise bad_request(f"request body is not valid JSON: {exc}") from exc


async def read_json(request: Request, limit: int) -> Any:
    """The request's JSON body, refused with 400 if it is over limit bytes or not JSON."""
    return parse_json(await read_body(request, limit))


def parse(model: type[BaseModel], payload: Any) -> Any:
    try:
        return model.model_validate(payload)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'body'}: {err['msg']}"
            for err in exc.errors()
        )
        raise bad_request(f"invalid signalling request: {problems}") from exc


def check_sdp(sdp: str) -> None:
    """Cheap structural checks that catch garbage before aiortc parses it."""
    lines = [line.strip() for line in sdp.replace("\r\n", "\n").split("\n") if line.strip()]
    if not lines or lines[0] != "v=0":
        raise bad_request("malformed SDP: it must start with 'v=0'")
    if not any(line.startswith("m=") for line in lines):
        raise bad_request("malformed SDP: it has no media section ('m=' line)")
    if not any(line.startswith("a=fingerprint:") for line in lines):
        raise bad_request("malformed SDP: it has no DTLS fingerprint ('a=fingerprint:' line)")
    if not any(line.startswith("a=ice-ufrag:") for line in lines):
        raise bad_request("malformed SDP: it has no ICE credentials ('a=ice-ufrag:' line)")
