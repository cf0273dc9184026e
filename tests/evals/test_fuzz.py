"""Fuzzing every parser a client can reach (evals/fuzz.py's targets, fewer cases than
`eco1 eval reliability` runs): none may crash, each bad input gets a clear no."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agent.config import load_settings
from agent.edge.app import create_app
from avatar.visemes import viseme_segments
from evals.fuzz import http_targets, mcp_target, message_targets, run_target
from speech.clauses import find_cut

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    db = tmp_path_factory.mktemp("fuzz") / "db.sqlite3"
    app = create_app(load_settings(overrides={"server": {"db_path": str(db)}}), warm_up=False)
    with TestClient(app) as test_client:
        yield test_client


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


CI_CASES = 150


@pytest.mark.parametrize("name", ["offer_json", "offer_raw", "patch_candidates"])
def test_signalling_parsers_hold_under_fuzzing(client, name):
    target = next(t for t in http_targets(client) if t.name == name)
    assert run_target(target, CI_CASES) > CI_CASES // 2


@pytest.mark.parametrize("name", ["ws_messages", "client_messages", "settings", "camera_frames"])
def test_message_parsers_hold_under_fuzzing(name):
    target = next(t for t in message_targets() if t.name == name)
    assert run_target(target, CI_CASES) > CI_CASES // 2


def test_mcp_tool_arguments_hold_under_fuzzing():
    from agent.session.text_tutor import TextTutor
    from tools.mcp_server import build_mcp_server

    server = build_mcp_server(TextTutor(load_settings()))
    assert run_target(mcp_target(server), 40) > 20


def test_a_lone_surrogate_is_refused_with_a_reason():
    from agent.session.text_tutor import checked_text

    with pytest.raises(ValueError, match="not valid Unicode"):
        checked_text("why\ud800", "question")
    assert checked_text("héllo 😀", "question") == "héllo 😀"
