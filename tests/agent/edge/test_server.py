"""HTTP surface: page, health, metrics and signalling errors (no models loaded)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from agent.config import load_settings
from agent.edge.app import create_app


@pytest.fixture()
def client(tmp_path):
    overrides = {"server": {"max_sdp_bytes": 8192, "db_path": str(tmp_path / "db.sqlite3")}}
    settings = load_settings(overrides=overrides)
    with TestClient(create_app(settings, warm_up=False)) as test_client:
        yield test_client


def test_page_and_assets_are_served(client):
    page = client.get("/")
    assert page.status_code == 200 and "Eco-1 tutor" in page.text
    assert "/static/tutor.js" in page.text
    script = client.get("/static/tutor.js")
    assert script.status_code == 200 and "/api/offer" in script.text


def test_health_and_metrics(client):
    health = client.get("/healthz").json()
    assert health["status"] == "ok" and health["sessions"] == 0
    metrics = client.get("/metrics")
    assert metrics.status_code == 200
    assert "eco1_sessions_active 0.0" in metrics.text
    assert "# TYPE eco1_stage_latency_ms histogram" in metrics.text


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"sdp": "hello", "type": "offer"}, "must start with 'v=0'"),
        ({"sdp": "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\n", "type": "offer"}, "no media section"),
        ({"sdp": "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n", "type": "offer"}, "fingerprint"),
        ({"sdp": "v=0", "type": "answer"}, "type"),
        ({"type": "offer"}, "sdp"),
        ([1, 2, 3], "invalid signalling request"),
        ({"sdp": "v=0", "type": "offer", "learner": "../../etc"}, "learner"),
    ],
)
def test_malformed_offers_get_400_with_reason(client, body, message):
    response = client.post("/api/offer", json=body)
    assert response.status_code == 400
    assert message in response.json()["detail"]


def test_non_json_and_oversized_bodies(client):
    response = client.post("/api/offer", content=b"{not json")
    assert response.status_code == 400 and "not valid JSON" in response.json()["detail"]
    huge = {"sdp": "v=0\r\n" + "a=x\r\n" * 4000, "type": "offer"}
    response = client.post("/api/offer", json=huge)
    assert response.status_code == 400 and "limit" in response.json()["detail"]


@pytest.mark.parametrize(
    "breakage",
    [
        lambda sdp: sdp.replace("a=rtpmap:", "a=rtpmap:x"),
        lambda sdp: "\r\n".join(
            line for line in sdp.split("\r\n") if not line.startswith("a=setup")
        ),
    ],
)
def test_sdp_that_aiortc_cannot_use_is_400_and_frees_the_slot(client, real_offer_sdp, breakage):
    response = client.post("/api/offer", json={"sdp": breakage(real_offer_sdp), "type": "offer"})
    assert response.status_code == 400
    assert "could not negotiate" in response.json()["detail"]
    assert client.get("/healthz").json()["sessions"] == 0


def test_unknown_pc_id_is_404(client, real_offer_sdp):
    body = {"sdp": real_offer_sdp, "type": "offer", "pc_id": "nobody"}
    assert client.post("/api/offer", json=body).status_code == 404
    patch = {"pc_id": "nobody", "candidates": [{"candidate": "", "sdp_mid": "0"}]}
    assert client.patch("/api/offer", json=patch).status_code == 404
    assert client.delete("/api/sessions/nobody").status_code == 404


def test_server_keeps_serving_after_bad_input(client):
    for _ in range(20):
        client.post("/api/offer", content=b"\xff\xfe garbage")
    assert client.get("/healthz").status_code == 200
    metrics = client.get("/metrics").text
    assert "eco1_sessions_active 0.0" in metrics


@pytest.mark.slow  # a real server process
def test_missing_model_file_refuses_the_session_clearly(real_offer_sdp, tmp_path):
    overrides = {
        "tts": {"voice_path": str(tmp_path / "nobody.onnx")},
        "server": {"db_path": str(tmp_path / "db.sqlite3")},
    }
    settings = load_settings(overrides=overrides)
    with TestClient(create_app(settings, warm_up=False)) as client:
        response = client.post("/api/offer", json={"sdp": real_offer_sdp, "type": "offer"})
        assert response.status_code == 500
        detail = response.json()["detail"]
        assert "could not start a session" in detail and "ECO1_TTS__VOICE_PATH" in detail
        assert client.get("/healthz").json()["sessions"] == 0
        assert (
            'eco1_offers_rejected_total{reason="session_start"} 1.0' in client.get("/metrics").text
        )


def test_avatar_schema_names_the_motion_arrays(client):
    schema = client.get("/api/avatar/schema").json()
    assert schema["version"] == 2 and len(schema["visemes"]) == 15
    assert schema["blendshapes"][17] == "jawOpen" and len(schema["blendshapes"]) == 52


def guarded_client(tmp_path, **server):
    overrides = {"server": {"db_path": str(tmp_path / "db.sqlite3"), **server}}
    return TestClient(create_app(load_settings(overrides=overrides), warm_up=False))


def test_foreign_origins_are_refused(tmp_path, real_offer_sdp):
    with guarded_client(tmp_path, allowed_origins=["https://tutor.example"]) as client:
        body = {"sdp": real_offer_sdp, "type": "offer"}
        refused = client.post("/api/offer", json=body, headers={"Origin": "https://evil.example"})
        assert refused.status_code == 403 and "not allowed" in refused.json()["detail"]
        with client.websocket_connect("/ws", headers={"Origin": "https://evil.example"}) as ws:
            assert "not allowed" in ws.receive_json()["message"]


def test_too_many_new_sessions_from_one_client_get_429(tmp_path, real_offer_sdp):
    with guarded_client(tmp_path, offers_per_minute=2) as client:
        # Offers aiortc cannot negotiate cost a handshake each, so they count; the third is
        # refused before any work is done. (Offers refused for capacity do not count:
        # tests/agent/edge/test_hardening.py.)
        broken = real_offer_sdp.replace("a=rtpmap:", "a=rtpmap:x")
        body = {"sdp": broken, "type": "offer"}
        statuses = [client.post("/api/offer", json=body).status_code for _ in range(3)]
        assert statuses == [400, 400, 429]
        third = client.post("/api/offer", json=body)
        assert third.status_code == 429 and int(third.headers["Retry-After"]) >= 1


def test_rate_limiter_window():
    from agent.edge.guards import RateLimiter

    now = [0.0]
    limiter = RateLimiter(2, window_s=60, clock=lambda: now[0])
    assert limiter.retry_after("a") == 0 and limiter.retry_after("a") == 0
    assert limiter.retry_after("a") == 60 and limiter.retry_after("b") == 0
    now[0] = 61.0
    assert limiter.retry_after("a") == 0


TOKEN = "token-for-the-tests-0123456789"


def test_the_api_token_guards_sessions_and_learner_data(tmp_path):
    with guarded_client(tmp_path, api_token=TOKEN) as client:
        garbage = {"sdp": "hello", "type": "offer"}
        missing = client.post("/api/offer", json=garbage)
        assert missing.status_code == 401 and "token" in missing.json()["detail"]
        assert missing.headers["WWW-Authenticate"].startswith("Bearer")
        wrong = client.post("/api/offer", json=garbage, headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401
        right = client.post(
            "/api/offer", json=garbage, headers={"Authorization": f"Bearer {TOKEN}"}
        )
        assert right.status_code == 400  # past the gate, refused for the SDP itself
        assert client.post(f"/api/offer?token={TOKEN}", json=garbage).status_code == 400
        assert client.get("/api/turns").status_code == 401
        assert client.get("/api/turns", params={"token": TOKEN}).status_code == 200
        assert client.get("/api/sessions/x/events").status_code == 401
        assert client.delete("/api/sessions/x").status_code == 401
        assert client.get("/healthz").status_code == 200  # health and the page stay open
        assert client.get("/").status_code == 200
        with client.websocket_connect("/ws") as ws:
            assert "token" in ws.receive_json()["message"]
        with client.websocket_connect(f"/ws?rate=44100&token={TOKEN}") as ws:
            assert "not supported" in ws.receive_json()["message"]  # admitted, then checked
        refused = client.get("/metrics").text
        assert 'eco1_offers_rejected_total{reason="token"}' in refused


def test_open_access_needs_no_token(tmp_path):
    with guarded_client(tmp_path, api_token=TOKEN, open_access=True) as client:
        assert client.get("/api/turns").status_code == 200


def test_the_log_follows_stderr_when_it_is_swapped(monkeypatch):
    import io
    import sys

    from loguru import logger

    from agent.edge.serve import configure_logging

    configure_logging("INFO")
    later = io.StringIO()
    monkeypatch.setattr(sys, "stderr", later)  # what pytest does between tests
    logger.info("written after the swap")
    assert "written after the swap" in later.getvalue()


def test_the_page_gets_the_ice_servers_with_turns_credentials_behind_the_token(tmp_path):
    servers = ["stun:stun.example.org:3478", "turn:turn.example.org:3478?transport=tcp"]
    ice = {"ice_servers": servers, "ice_username": "learner", "ice_credential": "s3cret"}
    with guarded_client(tmp_path, api_token=TOKEN, **ice) as client:
        assert client.get("/api/ice-servers").status_code == 401
        given = client.get("/api/ice-servers", headers={"Authorization": f"Bearer {TOKEN}"})
        assert given.json() == [
            {"urls": servers[0]},  # STUN takes no credentials
            {"urls": servers[1], "username": "learner", "credential": "s3cret"},
        ]
