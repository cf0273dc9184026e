"""The schema of client → server messages (data channel and WebSocket text alike).

Version 1 has one message, `{"v": 1, "type": "ping"}`. Anything else gets a clear error
event and is dropped; the session goes on.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from agent.session.bounded_json import JSONInputError, loads_bounded

MAX_MESSAGE_BYTES = 16 * 1024


class ClientMessageError(ValueError):
    """A message that does not follow docs/protocol.md; the text says how."""


class Ping(BaseModel):
    """I am still here: the liveness watchdog frees a session whose pings stop."""

    model_config = ConfigDict(extra="forbid")
    v: Literal[1] = 1
    type: Literal["ping"]


MESSAGES: dict[str, type[BaseModel]] = {"ping": Ping}


def parse_client_message(raw: Any) -> BaseModel:
    """A validated message from a JSON string or an already decoded object."""
    if isinstance(raw, (str, bytes)):
        if len(raw) > MAX_MESSAGE_BYTES:
            raise ClientMessageError(f"message of {len(raw)} bytes exceeds {MAX_MESSAGE_BYTES}")
        try:
            raw = loads_bounded(raw)
        except JSONInputError as exc:
            raise ClientMessageError(f"messages must be JSON: {exc}") from exc
    if not isinstance(raw, dict) or not isinstance(raw.get("type"), str):
        raise ClientMessageError('messages must be JSON objects with a string "type"')
    model = MESSAGES.get(raw["type"])
    if model is None:
        raise ClientMessageError(
            f"unknown message type {raw['type'][:40]!r}; known: {sorted(MESSAGES)}"
        )
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise ClientMessageError(f"bad {raw['type']} message: {problems}") from exc
