"""The outside probe's bad inputs, replayed against a live `eco1 serve` (`eco1 eval reliability`).

Each probe is one of the inputs the December probe found mishandled (issue 25), sent over
real HTTP and WebSocket connections; it passes when the server answers as docs/protocol.md
says and is still healthy afterwards. The in-process regression tests are
tests/agent/edge/test_hardening.py; this shows the same on the shipped server process.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import websockets

from evals.harness.server_process import ServerProcess

DEEP_2000 = "[" * 2000 + "]" * 2000
DEEP_5000 = "[" * 5000 + "]" * 5000
BAD_CANDIDATE = "candidate:1 1 udp 2130706431 127.0.0.1 -5 typ host"


async def real_offer() -> str:
    """An aiortc offer with audio and a data channel, as a browser sends."""
    from aiortc import RTCPeerConnection

    pc = RTCPeerConnection()
    pc.addTransceiver("audio", direction="sendrecv")
    pc.createDataChannel("events")
    await pc.setLocalDescription(await pc.createOffer())
    sdp = pc.localDescription.sdp
    await pc.close()
    return sdp


@dataclass
class Probe:
    name: str
    expected: str  # what the docs say the server answers
    run: Callable[[ServerProcess, httpx.AsyncClient], Awaitable[bool]]


async def _ws_json(url: str, send: str | None = None) -> tuple[dict | None, int | None]:
    """The first JSON message of a /ws connection (after sending `send`), and its close code
    if it closed."""
    async with websockets.connect(url, max_size=None) as ws:
        if send is not None:
            await ws.send(send)
        try:
            message = json.loads(await asyncio.wait_for(ws.recv(), 10))
        except websockets.ConnectionClosed as closed:
            return None, closed.code
        try:
            await asyncio.wait_for(ws.recv(), 2)
        except websockets.ConnectionClosed as closed:
            return message, closed.code
        except TimeoutError:
            pass
        return message, None


def _ws_url(server: ServerProcess, query: str) -> str:
    return server.base_url.replace("http", "ws", 1) + "/ws?" + query


async def _live_session_ids(server: ServerProcess) -> list[str]:
    """What MCP's list_sessions shows (how the probe found a /ws session's id)."""
    import httpx2
    from mcp import Client
    from mcp.client.streamable_http import streamable_http_client

    client_http = httpx2.AsyncClient(headers=server.headers, timeout=30)
    url = f"{server.base_url}/mcp/"
    async with client_http, Client(streamable_http_client(url, http_client=client_http)) as mcp:
        result = await mcp.call_tool("list_sessions", {})
    return [s["session_id"] for s in (result.structured_content or {}).get("result", [])]


async def _hijack(server: ServerProcess, http: httpx.AsyncClient) -> bool:
    """A /ws session's id as a renegotiation pc_id starts nothing."""
    async with websockets.connect(_ws_url(server, f"token={server.token}")):
        await asyncio.sleep(1.0)
        ws_ids = [sid for sid in await _live_session_ids(server) if sid.startswith("ws-")]
        if not ws_ids:
            return False
        before = (await http.get("/healthz")).json()["sessions"]
        body = {"sdp": await real_offer(), "type": "offer", "pc_id": ws_ids[0]}
        answer = await http.post("/api/offer", json=body)
        after = (await http.get("/healthz")).json()["sessions"]
        return answer.status_code == 404 and after == before


async def _deep_post(server: ServerProcess, http: httpx.AsyncClient) -> bool:
    answer = await http.post("/api/offer", content=DEEP_2000)
    return answer.status_code == 400 and "nested" in answer.json()["detail"]


async def _deep_patch(server: ServerProcess, http: httpx.AsyncClient) -> bool:
    answer = await http.patch("/api/offer", content=DEEP_2000)
    return answer.status_code == 400 and "nested" in answer.json()["detail"]


async def _deep_ws(server: ServerProcess, _http) -> bool:
    message, code = await _ws_json(_ws_url(server, f"token={server.token}"), DEEP_5000)
    return message is not None and message["type"] == "error" and code is None


async def _bad_rate(server: ServerProcess, _http) -> bool:
    message, code = await _ws_json(_ws_url(server, f"rate=abc&token={server.token}"))
    return message is not None and message["type"] == "error" and code == 1003


async def _learner_before_token(server: ServerProcess, _http) -> bool:
    message, _code = await _ws_json(_ws_url(server, "learner=../../etc"))
    return message is not None and "token" in message["message"]


async def _bad_port(server: ServerProcess, http: httpx.AsyncClient) -> bool:
    offered = await http.post("/api/offer", json={"sdp": await real_offer(), "type": "offer"})
    if offered.status_code != 200:
        return False
    pc_id = offered.json()["pc_id"]
    patch = {"pc_id": pc_id, "candidates": [{"candidate": BAD_CANDIDATE, "sdp_mid": "0"}]}
    answer = await http.patch("/api/offer", json=patch)
    await http.delete(f"/api/sessions/{pc_id}")
    return answer.status_code == 400 and "port -5" in answer.json()["detail"]


async def _open_docs(server: ServerProcess, _http) -> bool:
    async with httpx.AsyncClient(base_url=server.base_url) as anonymous:
        pages = [await anonymous.get(page) for page in ("/docs", "/redoc", "/openapi.json")]
    return all(page.status_code == 404 for page in pages)


async def _mcp_query_token(server: ServerProcess, _http) -> bool:
    async with httpx.AsyncClient(base_url=server.base_url) as anonymous:
        answer = await anonymous.post(f"/mcp/?token={server.token}", json={})
    return answer.status_code == 401


async def _huge_offer(server: ServerProcess, http: httpx.AsyncClient) -> bool:
    answer = await http.post("/api/offer", content=b"{" + b" " * 2_000_000 + b"}")
    return answer.status_code == 400 and "exceeds" in answer.json()["detail"]


PROBES = [
    Probe("renegotiation_hijack", "404, nothing started", _hijack),
    Probe("deep_nesting_post", "400 naming the nesting", _deep_post),
    Probe("deep_nesting_patch", "400 naming the nesting", _deep_patch),
    Probe("deep_nesting_ws", "an error event, the session goes on", _deep_ws),
    Probe("ws_rate_abc", "an error event, close 1003", _bad_rate),
    Probe("ws_learner_before_token", "the token is refused first", _learner_before_token),
    Probe("ice_port_minus_5", "400 naming the port", _bad_port),
    Probe("api_pages_without_token", "404", _open_docs),
    Probe("mcp_token_in_query", "401: MCP takes a Bearer header only", _mcp_query_token),
    Probe("oversized_offer", "400 naming the limit, before the body is read", _huge_offer),
]


async def replay(server: ServerProcess) -> dict[str, Any]:
    """Every probe once; answered as documented, and the server healthy after each."""
    rows = []
    async with httpx.AsyncClient(base_url=server.base_url, headers=server.headers,
                                 timeout=30) as http:  # fmt: skip
        for probe in PROBES:
            try:
                ok = await probe.run(server, http)
                error = None
            except Exception as exc:  # a probe that cannot even be answered fails
                ok, error = False, f"{type(exc).__name__}: {exc}"
            alive = (await http.get("/healthz")).status_code == 200
            rows.append({"probe": probe.name, "expected": probe.expected, "as_documented": ok,
                         "alive_after": alive, "error": error})  # fmt: skip
    return {
        "probes": len(rows),
        "as_documented": sum(r["as_documented"] for r in rows),
        "alive_after_each": all(r["alive_after"] for r in rows),
        "rows": rows,
    }
