"""Durable session records in SQLite (WAL), the single-host default (agent/session/store.py).

An event is written before it is sent, so anything a client has received (transcripts,
the planner's decisions and beliefs, turn latencies) survives the server being killed.
WAL with synchronous=NORMAL survives a killed process (the OS keeps the written WAL); only
a power loss could cost the last transactions.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

from agent.session.store import SESSION_FIELDS

SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    id TEXT PRIMARY KEY,
    transport TEXT NOT NULL,
    started_at REAL NOT NULL,
    ended_at REAL
);
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    session_id TEXT NOT NULL REFERENCES sessions(id),
    at REAL NOT NULL,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_by_session ON events(session_id, seq);
"""


class SqliteStore:
    """One SQLite file per service; safe to call from the event loop (a write is a small
    WAL append)."""

    def __init__(self, path: Path) -> None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(SCHEMA)
        self._lock = threading.Lock()

    def session_started(self, session_id: str, transport: str) -> None:
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO sessions(id, transport, started_at) VALUES (?, ?, ?)",
                (session_id, transport, time.time()),
            )

    def session_ended(self, session_id: str) -> None:
        with self._lock:
            self._db.execute(
                "UPDATE sessions SET ended_at = ? WHERE id = ?", (time.time(), session_id)
            )

    def record(self, session_id: str, message: dict[str, Any]) -> None:
        """Store one event (a protocol message) for the session, committed on return."""
        with self._lock:
            self._db.execute(
                "INSERT INTO events(session_id, at, kind, payload) VALUES (?, ?, ?, ?)",
                (session_id, time.time(), str(message.get("type", "?")), json.dumps(message)),
            )

    def events(self, session_id: str, kind: str | None = None) -> list[dict[str, Any]]:
        query = "SELECT payload FROM events WHERE session_id = ?"
        args: tuple = (session_id,)
        if kind:
            query, args = query + " AND kind = ?", (session_id, kind)
        with self._lock:
            rows = self._db.execute(query + " ORDER BY seq", args).fetchall()
        return [json.loads(payload) for (payload,) in rows]

    def sessions(self) -> list[dict[str, Any]]:
        with self._lock:
            rows = self._db.execute(
                "SELECT id, transport, started_at, ended_at FROM sessions ORDER BY started_at"
            ).fetchall()
        return [dict(zip(SESSION_FIELDS, row, strict=True)) for row in rows]

    def close(self) -> None:
        with self._lock:
            self._db.close()
