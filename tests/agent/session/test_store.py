"""Session stores: SQLite by default, PostgreSQL (a real server) when store.url names one."""

from __future__ import annotations

import subprocess
import sys
import uuid

import pytest

from agent.session.store import open_store


@pytest.fixture(params=["sqlite", "postgres"])
def where(request, tmp_path):
    """(store.url, SQLite path) for each kind of store."""
    url = request.getfixturevalue("postgres_url") if request.param == "postgres" else None
    return url, tmp_path / "eco1.sqlite3"


def test_events_and_sessions_last_past_the_store(where):
    session = f"s-{uuid.uuid4().hex[:8]}"  # the PostgreSQL server is shared by the tests
    store = open_store(*where)
    store.session_started(session, "SmallWebRTCTransport")
    store.record(session, {"v": 1, "type": "transcript", "text": "hi", "nested": {"a": [1, 2]}})
    store.record(session, {"v": 1, "type": "action", "action": "explain"})
    store.session_ended(session)
    store.close()
    again = open_store(*where)
    assert again.events(session) == [
        {"v": 1, "type": "transcript", "text": "hi", "nested": {"a": [1, 2]}},
        {"v": 1, "type": "action", "action": "explain"},
    ]
    assert [e["action"] for e in again.events(session, "action")] == ["explain"]
    ended = [s for s in again.sessions() if s["id"] == session]
    assert ended and ended[0]["ended_at"] >= ended[0]["started_at"]
    assert again.events("nobody") == []
    again.close()


WRITER = """
import os, sys
from pathlib import Path
from agent.session.store import open_store
store = open_store(sys.argv[1] or None, Path(sys.argv[2]))
store.session_started(sys.argv[3], "test")
for n in range(20):
    store.record(sys.argv[3], {"type": "transcript", "n": n})
print("acknowledged", flush=True)
os._exit(0)  # dies without closing anything: what was acknowledged must be there
"""


def test_a_host_that_dies_loses_nothing_it_acknowledged(where):
    url, path = where
    session = f"s-{uuid.uuid4().hex[:8]}"
    done = subprocess.run(
        [sys.executable, "-c", WRITER, url or "", str(path), session],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert "acknowledged" in done.stdout, done.stderr
    store = open_store(url, path)
    assert [e["n"] for e in store.events(session)] == list(range(20))
    store.close()


def test_the_postgres_store_reconnects_after_its_connection_drops(postgres_url, tmp_path):
    store = open_store(postgres_url, tmp_path / "unused.sqlite3")
    store.session_started("reconnect", "test")
    store._db.close()  # as when the server restarts or the link drops
    store.record("reconnect", {"type": "transcript", "text": "still here"})
    assert store.events("reconnect")[-1]["text"] == "still here"
    store.close()


def test_an_unreachable_store_is_a_clear_error(tmp_path):
    from agent.session.store_postgres import StoreUnavailable

    with pytest.raises(StoreUnavailable, match="cannot open the PostgreSQL store"):
        open_store("postgresql://eco1@127.0.0.1:9/none", tmp_path / "x.sqlite3")


def test_store_url_must_name_postgresql():
    from pydantic import ValidationError

    from agent.config.settings import Settings

    assert Settings().store.url is None
    with pytest.raises(ValidationError, match="postgresql://"):
        Settings(store={"url": "mysql://somewhere/db"})


def test_hosts_opening_a_fresh_postgres_store_together_do_not_race(postgres_url, tmp_path):
    """Two session hosts starting at once both create the schema (it was a UniqueViolation
    on pg_type when a cluster's hosts started together)."""
    import threading

    import psycopg

    with psycopg.connect(postgres_url, autocommit=True) as admin:
        admin.execute("DROP DATABASE IF EXISTS eco1_race")
        admin.execute("CREATE DATABASE eco1_race")
    url = postgres_url.rsplit("/", 1)[0] + "/eco1_race"
    failures: list[Exception] = []
    start = threading.Barrier(4)

    def open_one() -> None:
        start.wait()
        try:
            open_store(url, tmp_path / "unused.sqlite3").close()
        except Exception as exc:
            failures.append(exc)

    openers = [threading.Thread(target=open_one) for _ in range(4)]
    for thread in openers:
        thread.start()
    for thread in openers:
        thread.join()
    assert failures == []
