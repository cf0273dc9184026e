"""Validation of WebRTC signalling requests, before anything reaches aiortc.

Bad input gets a 400 that says what is wrong; the server never half-builds a session
from a request it could have rejected up front.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import HTTPException, Request
from pydantic import BaseModel, Field, ValidationError

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
    candidate: str
    sdp_mid: str | None = None
    sdp_mline_index: int | None = None


class PatchBody(BaseModel):
    """PATCH /api/offer: trickled ICE candidates for a live session."""

    pc_id: str = Field(min_length=1)
    candidates: list[CandidateBody] = Field(max_length=64)


def bad_request(message: str) -> HTTPException:
    return HTTPException(status_code=400, detail=message)


async def read_json(request: Request, limit: int) -> Any:
    """The request's JSON body, refused with 400 if it is over limit bytes or not JSON."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise bad_request(f"request body of {declared} bytes exceeds the {limit}-byte limit")
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > limit:
            raise bad_request(f"request body exceeds the {limit}-byte limit")
    try:
        return json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise bad_request(f"request body is not valid JSON: {exc}") from exc


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
