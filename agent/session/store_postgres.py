"""Durable session records in PostgreSQL, shared by every host that serves learners.

The same tables as SQLite's (agent/session/store_sqlite.py), in autocommit: `record`
returns once the row is committed, which is before the event is sent, so a host that dies
loses nothing a learner was told. One connection per store, used under a lock (a write is a
small insert, as with SQLite); a broken connection is reopened once on the next call.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

import psycopg
from psycopg.types.json import Jsonb

from agent.session.store import SESSION_FIELDS

SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    id TEXT PRIMARY KEY,
    transport TEXT NOT NULL,
    started_at DOUBLE PRECISION NOT NULL,
    ended_at DOUBLE PRECISION
);
CREATE TABLE IF NOT EXISTS events (
    seq BIGSERIAL PRIMARY KEY,
    session_id TEXT NOT NULL REFERENCES sessions(id),
    at DOUBLE PRECISION NOT NULL,
    kind TEXT NOT NULL,
    payload JSONB NOT NULL
);
CREATE INDEX IF NOT EXISTS events_by_session ON events(session_id, seq);
"""
SCHEMA_LOCK = 0x6563_6F31  # "eco1": the advisory lock that serializes schema creation
T = TypeVar("T")


class StoreUnavailable(RuntimeError):
    """PostgreSQL could not be reached or refused the store's schema."""


class PostgresStore:
    def __init__(self, url: str, *, connect_timeout_s: float = 5.0) -> None:
        self.url = url
        self._timeout = connect_timeout_s
        self._lock = threading.Lock()
        self._db = self._connect()
        # Hosts starting together would race on CREATE TABLE IF NOT EXISTS (PostgreSQL
        # checks and creates in two steps): one at a time, under a transaction-held lock.
        with self._lock, self._db.transaction():
            self._db.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK,))
            self._db.execute(SCHEMA)

    def _connect(self) -> psycopg.Connection:
        try:
            return psycopg.connect(self.url, autocommit=True, connect_timeout=self._timeout)
        except psycopg.Error as exc:
            raise StoreUnavailable(f"cannot open the PostgreSQL store: {exc}") from exc

    def _run(self, work: Callable[[psycopg.Connection], T]) -> T:
        with self._lock:
            try:
                return work(self._db)
            except psycopg.OperationalError:
                if not self._db.closed:
                    raise
                self._db = self._connect()  # the server restarted or the link dropped
                return work(self._db)

    def session_started(self, session_id: str, transport: str) -> None:
        self._run(lambda db: db.execute(
            "INSERT INTO sessions(id, transport, started_at) VALUES (%s, %s, %s) "
            "ON CONFLICT (id) DO UPDATE SET transport = EXCLUDED.transport, "
            "started_at = EXCLUDED.started_at, ended_at = NULL",
            (session_id, transport, time.time()),
        ))  # fmt: skip

    def session_ended(self, session_id: str) -> None:
        self._run(lambda db: db.execute(
            "UPDATE sessions SET ended_at = %s WHERE id = %s", (time.time(), session_id)
        ))  # fmt: skip

    def record(self, session_id: str, message: dict[str, Any]) -> None:
        """Store one event (a protocol message) for the session, committed on return."""
        kind = str(message.get("type", "?"))
        self._run(lambda db: db.execute(
            "INSERT INTO events(session_id, at, kind, payload) VALUES (%s, %s, %s, %s)",
            (session_id, time.time(), kind, Jsonb(message)),
        ))  # fmt: skip

    def events(self, session_id: str, kind: str | None = None) -> list[dict[str, Any]]:
        query, args = "SELECT payload FROM events WHERE session_id = %s", [session_id]
        if kind:
            query, args = query + " AND kind = %s", [session_id, kind]
        rows = self._run(lambda db: db.execute(query + " ORDER BY seq", args).fetchall())
        return [payload for (payload,) in rows]  # psycopg loads JSONB as Python objects

    def sessions(self) -> list[dict[str, Any]]:
        rows = self._run(lambda db: db.execute(
            "SELECT id, transport, started_at, ended_at FROM sessions ORDER BY started_at"
        ).fetchall())  # fmt: skip
        return [dict(zip(SESSION_FIELDS, row, strict=True)) for row in rows]

    def close(self) -> None:
        with self._lock:
            self._db.close()
