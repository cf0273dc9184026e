"""Fuzzing every parser a client can reach: none may crash, each bad input gets a clear no."""

from __future__ import annotations

import asyncio
import json

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agent.config import load_settings
from agent.server import create_app
from agent.ws_serializer import EcoWireSerializer
from avatar.visemes import viseme_segments
from speech.clauses import find_cut

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=12,
)


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    db = tmp_path_factory.mktemp("fuzz") / "db.sqlite3"
    app = create_app(load_settings(overrides={"server": {"db_path": str(db)}}), warm_up=False)
    with TestClient(app) as test_client:
        yield test_client


offer_like = st.fixed_dictionaries(
    {
        "sdp": st.text(max_size=300) | st.just("v=0\r\nm=audio 9 UDP 0\r\n"),
        "type": st.text(max_size=10),
    },
    optional={"pc_id": st.text(max_size=20) | st.none(), "restart_pc": json_values},
)


@FUZZ
@given(body=offer_like | json_values)
def test_offer_endpoint_never_crashes(client, body):
    response = client.post("/api/offer", json=body)
    assert response.status_code in (400, 404, 503), (response.status_code, response.text)
    assert "detail" in response.json()


@FUZZ
@given(raw=st.binary(max_size=2000))
def test_offer_endpoint_survives_raw_bytes(client, raw):
    response = client.post("/api/offer", content=raw)
    assert response.status_code in (400, 404)


@FUZZ
@given(body=json_values)
def test_patch_endpoint_never_crashes(client, body):
    response = client.patch("/api/offer", json=body)
    assert response.status_code in (400, 404)


@FUZZ
@given(data=st.binary(max_size=4000) | st.text(max_size=4000))
def test_websocket_messages_never_crash_the_serializer(data):
    errors: list[str] = []

    async def report(message: str) -> None:
        errors.append(message)

    frame = asyncio.run(EcoWireSerializer(16000, report).deserialize(data))
    assert (frame is None) == bool(errors)  # dropped exactly when reported


@FUZZ
@given(text=st.text(max_size=200), min_words=st.integers(1, 10))
def test_clause_cutter_always_cuts_inside_the_text(text, min_words):
    cut = find_cut(text, min_words)
    assert cut == -1 or 0 < cut < len(text)


@FUZZ
@given(
    pairs=st.lists(
        st.tuples(
            st.sampled_from(list("pbmfvθðtdkgʃszn lɹaæəɛɪiouʊˈˌːh,.^$")), st.integers(0, 4096)
        ),
        max_size=60,
    ),  # fmt: skip
    rate=st.sampled_from([16000, 22050, 24000]),
)
def test_viseme_segments_tile_any_alignment(pairs, rate):
    segments = viseme_segments(pairs, rate)
    total = sum(n for _, n in pairs) / rate
    if segments:
        assert segments[0].start_s == 0.0 and abs(segments[-1].end_s - total) < 1e-9
        assert all(
            a.end_s == pytest.approx(b.start_s)
            for a, b in zip(segments, segments[1:], strict=False)
        )


@FUZZ
@given(
    values=st.dictionaries(
        st.sampled_from(["port", "host", "profile", "log_level"]), json_values, max_size=3
    )
)
def test_settings_reject_or_accept_but_never_crash(values):
    from agent.config import ConfigError

    try:
        load_settings(overrides=json.loads(json.dumps(values)))
    except ConfigError as exc:
        assert str(exc)


@FUZZ
@given(message=json_values | st.text(max_size=300) | st.binary(max_size=300))
def test_client_messages_are_parsed_or_refused_with_a_reason(message):
    from agent.client_messages import ClientMessageError, parse_client_message

    try:
        parsed = parse_client_message(message)
    except ClientMessageError as exc:
        assert str(exc)
    else:
        assert parsed.type == "ping"


@FUZZ
@given(
    data=st.binary(max_size=2000),
    width=st.integers(-5, 64),
    height=st.integers(-5, 64),
)
def test_camera_frames_of_any_size_are_decoded_or_refused(data, width, height):
    from pipecat.frames.frames import InputImageRawFrame

    from perception.processor import _to_rgb

    frame = InputImageRawFrame(image=data, size=(width, height), format="RGB")
    try:
        rgb = _to_rgb(frame)
    except ValueError as exc:
        assert "does not match" in str(exc)
    else:
        assert rgb.shape == (height, width, 3)
