"""Property fuzzing of every parser a client reaches, with hypothesis.

Each target names a parser, what hypothesis draws for it (wrong types, deep nesting, huge
numbers, odd Unicode, lone surrogates, raw bytes) and the property it must keep: a valid
result or a clear refusal, never a crash or a 5xx. tests/evals/test_fuzz.py runs every target
with a few cases in CI; `eco1 eval reliability` runs each with 1,000 and counts them
(`fuzz_cases`). The HTTP targets run on the real app in process (FastAPI's TestClient).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy

NUMBERS = (
    st.integers(min_value=-(10**40), max_value=10**40)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.sampled_from([2**63, -(2**63) - 1, 1e308, -0.0])
)
ODD_TEXT = st.text(st.characters(codec="utf-8"), max_size=40) | st.sampled_from(
    ["\u202e\u0000", "\ufeff", "e\u0301" * 20, "\U0001f600" * 10, "\x00" * 5]
)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | NUMBERS | ODD_TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(ODD_TEXT, inner, max_size=4),
    max_leaves=12,
)
DEEP = st.integers(1, 6000).flatmap(
    lambda n: st.sampled_from(["[" * n + "]" * n, '{"a":' * n + "1" + "}" * n, "[" * n])
)
# JSON text a strict decoder may still choke on: deep nesting, lone surrogates, huge numbers.
ODD_JSON = DEEP | st.sampled_from(['"\\ud800"', "1e999", "-" + "9" * 5000, '{"sdp": "\\udfff"}'])
OFFER_LIKE = st.fixed_dictionaries(
    {"sdp": st.text(max_size=300) | st.just("v=0\r\nm=audio 9 UDP 0\r\n"),
     "type": st.text(max_size=10)},
    optional={"pc_id": st.text(max_size=20) | st.none(), "restart_pc": JSON_VALUES},
)  # fmt: skip
CANDIDATES = st.fixed_dictionaries(
    {"pc_id": st.text(max_size=20),
     "candidates": st.lists(st.fixed_dictionaries(
         {"candidate": ODD_TEXT, "sdp_mid": ODD_TEXT | st.none(),
          "sdp_mline_index": NUMBERS | st.none()}), max_size=4) | JSON_VALUES},
)  # fmt: skip


@dataclass
class FuzzTarget:
    """A parser, its inputs and the property it keeps (the check raises AssertionError)."""

    name: str
    inputs: SearchStrategy
    check: Callable[[Any], None]


def run_target(target: FuzzTarget, cases: int) -> int:
    """Draw up to `cases` inputs and check each; returns how many ran (a failing property
    raises hypothesis's falsifying example)."""
    ran = 0

    @settings(max_examples=cases, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))  # fmt: skip
    @given(value=target.inputs)
    def holds(value: Any) -> None:
        nonlocal ran
        ran += 1
        target.check(value)

    holds()
    return ran


def http_targets(client) -> list[FuzzTarget]:
    """Signalling bodies and PATCH candidates, on a TestClient of the real app."""

    def offer(body: Any) -> None:
        response = client.post("/api/offer", json=body)
        assert response.status_code in (400, 404, 503), (response.status_code, response.text)
        assert "detail" in response.json()

    def raw(body: bytes | str) -> None:
        for method in ("POST", "PATCH"):
            response = client.request(method, "/api/offer", content=body)
            assert response.status_code in (400, 404, 413), (method, response.status_code)

    def patch(body: Any) -> None:
        response = client.patch("/api/offer", json=body)
        assert response.status_code in (400, 404), (response.status_code, response.text)

    return [
        FuzzTarget("offer_json", OFFER_LIKE | JSON_VALUES, offer),
        FuzzTarget("offer_raw", st.binary(max_size=2000) | ODD_JSON, raw),
        FuzzTarget("patch_candidates", CANDIDATES | JSON_VALUES, patch),
    ]


def message_targets() -> list[FuzzTarget]:
    """`/ws` text and binary, data-channel messages, settings and camera frames."""
    from agent.config import ConfigError, load_settings
    from agent.session.client_messages import ClientMessageError, parse_client_message
    from agent.session.ws_serializer import EcoWireSerializer

    def ws(data: str | bytes) -> None:
        errors: list[str] = []

        async def report(message: str) -> None:
            errors.append(message)

        frame = asyncio.run(EcoWireSerializer(16000, report).deserialize(data))
        assert (frame is None) == bool(errors)  # dropped exactly when reported

    def message(raw: Any) -> None:
        try:
            parsed = parse_client_message(raw)
        except ClientMessageError as exc:
            assert str(exc)
        else:
            assert parsed.type == "ping"

    def config(values: dict) -> None:
        try:
            load_settings(overrides=json.loads(json.dumps(values)))
        except ConfigError as exc:
            assert str(exc)

    def camera(args: tuple[bytes, int, int]) -> None:
        from pipecat.frames.frames import InputImageRawFrame

        from perception.processor import _to_rgb

        data, width, height = args
        try:
            rgb = _to_rgb(InputImageRawFrame(image=data, size=(width, height), format="RGB"))
        except ValueError as exc:
            assert "does not match" in str(exc)
        else:
            assert rgb.shape == (height, width, 3)

    setting_names = st.sampled_from(["port", "host", "profile", "log_level", "server", "llm"])
    return [
        FuzzTarget(
            "ws_messages", st.binary(max_size=4000) | st.text(max_size=4000) | ODD_JSON, ws
        ),  # fmt: skip
        FuzzTarget(
            "client_messages", JSON_VALUES | ODD_TEXT | st.binary(max_size=300) | ODD_JSON, message
        ),  # fmt: skip
        FuzzTarget("settings", st.dictionaries(setting_names, JSON_VALUES, max_size=3), config),
        FuzzTarget(
            "camera_frames",
            st.tuples(st.binary(max_size=2000), st.integers(-5, 64), st.integers(-5, 64)),
            camera,
        ),  # fmt: skip
    ]


def mcp_target(server) -> FuzzTarget:
    """MCP tool arguments: any tool, any arguments; a result or a ToolError, nothing else."""
    from mcp.server.mcpserver.exceptions import ToolError

    tools = ["ask", "speak", "list_sessions", "session_state", "set_persona", "nope"]
    arguments = st.dictionaries(
        st.sampled_from(["question", "conversation_id", "session_id", "text", "persona",
                         "style", "x"]) | ODD_TEXT,
        JSON_VALUES, max_size=4,
    )  # fmt: skip

    def call(args: tuple[str, dict]) -> None:
        name, values = args
        try:
            asyncio.run(server.call_tool(name, values))
        except ToolError as exc:  # a refusal that says why, not an internal failure
            assert str(exc) and "could not answer" not in str(exc), str(exc)

    return FuzzTarget("mcp_arguments", st.tuples(st.sampled_from(tools), arguments), call)
