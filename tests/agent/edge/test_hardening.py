"""Regressions for the outside probe's findings (issue #25), with the probe's own inputs.

Sessions here run a bare pipeline (transport in → out, no models), so admission, limits
and error paths are exercised on real WebRTC and WebSocket transports in seconds.
"""

from __future__ import annotations

import asyncio
import time
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from pipecat.pipeline.pipeline import Pipeline
from pipecat.pipeline.worker import PipelineWorker
from pyee.asyncio import AsyncIOEventEmitter

from agent.config import load_settings
from agent.edge.app import create_app

TOKEN = "token-for-the-tests-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
DEEP_2000 = "[" * 2000 + "]" * 2000
DEEP_5000 = "[" * 5000 + "]" * 5000


def bare_worker(*, transport, **_unused) -> PipelineWorker:
    """A session's worker without models: enough to hold a slot and a live transport."""
    return PipelineWorker(Pipeline([transport.input(), transport.output()]), enable_rtvi=False)


def app_client(tmp_path, client=("testclient", 50000), **server) -> TestClient:
    overrides = {
        "server": {"db_path": str(tmp_path / "db.sqlite3"), "api_token": TOKEN, **server},
        "retrieval": {"enabled": False},  # no knowledge base to load: sessions start at once
        "controller": {"enabled": False},
        "tutoring": {"grounded": False},  # nor the curriculum's sentence embeddings
    }
    app = create_app(load_settings(overrides=overrides), warm_up=False, build_worker=bare_worker)
    return TestClient(app, client=client)


def sessions(client: TestClient) -> int:
    return client.get("/healthz").json()["sessions"]


def test_a_websocket_sessions_id_is_not_a_renegotiation(tmp_path, real_offer_sdp):
    with app_client(tmp_path, max_sessions=1) as client:
        with client.websocket_connect(f"/ws?token={TOKEN}"):
            deadline = time.monotonic() + 20
            while sessions(client) == 0 and time.monotonic() < deadline:
                time.sleep(0.05)
            live = list(client.app.state.sessions.sessions)
            assert len(live) == 1 and live[0].startswith("ws-")
            body = {"sdp": real_offer_sdp, "type": "offer", "pc_id": live[0]}
            answer = client.post("/api/offer", json=body, headers=AUTH)
            assert answer.status_code == 404 and "no WebRTC session" in answer.json()["detail"]
            assert sessions(client) == 1  # nothing started past the cap of one


def test_a_renegotiation_passes_the_same_checks(tmp_path, real_offer_sdp):
    allowed = ["https://tutor.example"]
    with app_client(tmp_path, allowed_origins=allowed) as client:
        first = client.post(
            "/api/offer", json={"sdp": real_offer_sdp, "type": "offer"}, headers=AUTH
        )
        assert first.status_code == 200, first.text
        again = {"sdp": real_offer_sdp, "type": "offer", "pc_id": first.json()["pc_id"]}
        foreign = client.post(
            "/api/offer", json=again, headers={**AUTH, "Origin": "https://evil.example"}
        )
        assert foreign.status_code == 403
        other = TestClient(client.app, client=("10.9.9.9", 4000))  # shares the live app
        stolen = other.post("/api/offer", json=again, headers=AUTH)
        assert stolen.status_code == 404
        assert sessions(client) == 1


@pytest.mark.parametrize("method", ["post", "patch"])
def test_deeply_nested_signalling_bodies_are_400(tmp_path, method):
    with app_client(tmp_path) as client:
        response = getattr(client, method)("/api/offer", content=DEEP_2000, headers=AUTH)
        assert response.status_code == 400
        assert "nested 2000 levels" in response.json()["detail"]
        assert client.get("/healthz").status_code == 200


def test_a_deeply_nested_ws_message_is_an_error_event_and_counted(tmp_path):
    with app_client(tmp_path) as client:
        with client.websocket_connect(f"/ws?token={TOKEN}") as ws:
            for _ in range(3):
                ws.send_text(DEEP_5000)
                reply = ws.receive_json()
                assert reply["type"] == "error" and "nested" in reply["message"]
            ws.send_text("not json")
            assert ws.receive_json()["type"] == "error"
            assert sessions(client) == 1  # the session goes on
        metrics = client.get("/metrics").text
        assert "eco1_client_messages_rejected_total 4.0" in metrics


def test_ws_parameters_are_checked_after_the_token_and_answered_as_events(tmp_path):
    with app_client(tmp_path) as client:
        with client.websocket_connect("/ws?learner=../../etc") as ws:
            assert "token" in ws.receive_json()["message"]  # the token is checked first
        with client.websocket_connect(f"/ws?rate=abc&token={TOKEN}") as ws:
            refused = ws.receive_json()
            assert refused["type"] == "error" and "not supported" in refused["message"]
            with pytest.raises(Exception) as closed:
                ws.receive_json()
            assert getattr(closed.value, "code", None) == 1003


def test_ice_candidates_out_of_range_are_400(tmp_path, real_offer_sdp):
    with app_client(tmp_path) as client:
        pc_id = client.post(
            "/api/offer", json={"sdp": real_offer_sdp, "type": "offer"}, headers=AUTH
        ).json()["pc_id"]
        bad = "candidate:1 1 udp 2130706431 127.0.0.1 -5 typ host"
        patch = {"pc_id": pc_id, "candidates": [{"candidate": bad, "sdp_mid": "0"}]}
        response = client.patch("/api/offer", json=patch, headers=AUTH)
        assert response.status_code == 400 and "port -5" in response.json()["detail"]
        good = bad.replace("-5", "5000")
        patch["candidates"][0]["candidate"] = good
        assert client.patch("/api/offer", json=patch, headers=AUTH).status_code == 200


def test_refused_offers_do_not_use_up_the_allowance(tmp_path, real_offer_sdp):
    body = {"sdp": real_offer_sdp, "type": "offer"}
    with app_client(tmp_path, max_sessions=1, offers_per_minute=2) as client:
        first = client.post("/api/offer", json=body, headers=AUTH)
        assert first.status_code == 200
        for _ in range(4):
            assert client.post("/api/offer", json=body, headers=AUTH).status_code == 503
        ended = client.delete(
            f"/api/sessions/{quote(first.json()['pc_id'], safe='')}", headers=AUTH
        )
        assert ended.status_code == 200, ended.text
        assert sessions(client) == 0
        assert client.post("/api/offer", json=body, headers=AUTH).status_code == 200
        assert client.post("/api/offer", json=body, headers=AUTH).status_code == 429


def test_a_full_server_refuses_a_websocket_with_a_reason(tmp_path):
    from starlette.websockets import WebSocketDisconnect

    with app_client(tmp_path, max_sessions=1, offers_per_minute=2) as client:
        with client.websocket_connect(f"/ws?token={TOKEN}"):
            deadline = time.monotonic() + 20
            while sessions(client) == 0 and time.monotonic() < deadline:
                time.sleep(0.05)
            for _ in range(3):  # refused for capacity: no allowance spent
                with client.websocket_connect(f"/ws?token={TOKEN}") as full:
                    message = full.receive_json()
                    assert message["type"] == "error"
                    assert "limit of 1 sessions" in message["message"]
                    with pytest.raises(WebSocketDisconnect) as closed:
                        full.receive_json()
                    assert closed.value.code == 1013
        metrics = client.get("/metrics").text
        assert 'eco1_offers_rejected_total{reason="capacity"} 3.0' in metrics


def test_a_peer_that_never_connects_frees_its_slot(tmp_path, real_offer_sdp):
    with app_client(tmp_path, connect_timeout_s=1.0) as client:
        response = client.post(
            "/api/offer", json={"sdp": real_offer_sdp, "type": "offer"}, headers=AUTH
        )
        assert response.status_code == 200 and sessions(client) == 1
        deadline = time.monotonic() + 6
        while sessions(client) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert sessions(client) == 0


def test_api_pages_are_open_only_with_open_access(tmp_path):
    with app_client(tmp_path) as client:
        for page in ("/docs", "/redoc", "/openapi.json"):
            assert client.get(page).status_code == 404
    with app_client(tmp_path, open_access=True) as client:
        assert client.get("/openapi.json").status_code == 200


def test_the_token_is_printed_only_when_generated():
    from agent.edge.serve import start_url

    configured = load_settings(overrides={"server": {"api_token": TOKEN}})
    assert TOKEN not in start_url(configured)
    generated = load_settings()
    url = start_url(generated)
    assert generated.server.api_token and generated.server.api_token in url


def test_bad_data_channel_messages_are_reported():
    from agent.session.transports import Connection, watch_data_channels

    reported: list[str] = []

    async def sink(problem: str) -> None:
        reported.append(problem)

    async def run() -> None:
        peer = type("Peer", (), {"pc": AsyncIOEventEmitter()})()
        made = Connection("pc", None, None, None, pings=True, bad_message_sink=sink)
        watch_data_channels(peer, made)
        channel = AsyncIOEventEmitter()
        peer.pc.emit("datachannel", channel)
        for message in ("not json", DEEP_5000, '{"v": 1, "type": "ping"}', "ping 123"):
            channel.emit("message", message)
        await asyncio.sleep(0.05)

    asyncio.run(run())
    assert len(reported) == 2
    assert "not valid JSON" in reported[0] and "nested 5000 levels" in reported[1]


class QuietBackend:
    name = "quiet"

    async def stream(self, messages, *, max_tokens, temperature):
        yield "Light."

    async def warm_up(self):
        pass

    async def close(self):
        pass


async def test_mcp_keeps_bounded_state_and_refuses_huge_personas():
    from mcp import Client

    from agent.session.text_tutor import TextTutor
    from tools.mcp_server import build_mcp_server

    settings = load_settings(overrides={"server": {"max_conversations": 5}})
    tutor = TextTutor(settings, backend=QuietBackend())
    async with Client(build_mcp_server(tutor)) as client:
        huge = await client.call_tool("set_persona", {"persona": "x" * 200_000})
        assert huge.is_error and "over the limit of 2000" in huge.content[0].text
        for number in range(20):
            persona = {"persona": "You are kind.", "conversation_id": f"c{number}"}
            assert not (await client.call_tool("set_persona", persona)).is_error
        assert tutor.conversation_count == 5
        with pytest.raises(Exception, match="no transcript"):  # and reading creates nothing
            await client.read_resource("transcript://never-seen")
        assert tutor.conversation_count == 5


async def test_speech_queued_by_mcp_speak_is_bounded():
    from agent.session import control as session_control
    from agent.session.manager import Session

    queued = []

    class Worker:
        async def queue_frame(self, frame):
            queued.append(frame.text)

    now = [0.0]
    session = Session("s1", connection=None, worker=Worker())  # type: ignore[arg-type]
    sentence = "The Moon goes round the Earth about once a month."  # about 4 s of speech
    for _ in range(5):
        await session_control.speak(session, sentence, max_queued_s=20.0, clock=lambda: now[0])
    with pytest.raises(ValueError, match="s of speech waiting"):
        await session_control.speak(session, sentence, max_queued_s=20.0, clock=lambda: now[0])
    assert len(queued) == 5
    now[0] += 30.0  # said by now: room again
    await session_control.speak(session, sentence, max_queued_s=20.0, clock=lambda: now[0])
    assert len(queued) == 6
    assert load_settings().server.max_queued_speech_s == 60.0


def test_an_ended_session_leaves_nothing_in_the_hosts_turn_compute():
    from agent.controller.controller import HLLMController
    from agent.turn.compute import TurnCompute

    compute = TurnCompute({"embedded": None}, controller=HLLMController())  # type: ignore[dict-item]
    asyncio.run(compute.prepare("s1", "why do leaves fall?"))
    assert "s1" in compute.last_decisions
    compute.forget("s1")
    assert "s1" not in compute.last_decisions and "s1" not in compute.controller._pending
