"""Nothing a learner was sent is lost: SIGKILL the server mid-session, read the database."""

from __future__ import annotations

import pytest

from agent.session.store_sqlite import SqliteStore
from evals.harness.speech_samples import synthesize
from evals.reliability import sigkill_test

pytestmark = pytest.mark.slow


def test_store_round_trip(tmp_path):
    store = SqliteStore(tmp_path / "db.sqlite3")
    store.session_started("s1", "SmallWebRTCTransport")
    store.record("s1", {"v": 1, "type": "transcript", "text": "hi"})
    store.session_ended("s1")
    store.close()
    again = SqliteStore(tmp_path / "db.sqlite3")
    assert again.events("s1") == [{"v": 1, "type": "transcript", "text": "hi"}]
    assert again.sessions()[0]["ended_at"] is not None


@pytest.mark.parametrize("store", ["sqlite", "postgres"])
async def test_everything_acknowledged_survives_sigkill(tmp_path, store, request):
    """The server is SIGKILLed mid-answer; every event the client got is in the database
    (SQLite, or a real PostgreSQL server named by store.url)."""
    url = request.getfixturevalue("postgres_url") if store == "postgres" else None
    pcm = synthesize("What is photosynthesis?")
    result = await sigkill_test(pcm, tmp_path / "eco1.sqlite3", store_url=url)
    assert {"transcript", "action", "latency", "speaking"} <= set(result["kinds"])
    assert result["events_received"] >= 5 and result["data_lost"] == 0
