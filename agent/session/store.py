"""Durable session records: sessions, and every event a learner was sent.

An event is written (committed) before it is sent, so anything a client has received
(transcripts, the planner's decisions and beliefs, turn latencies) survives the server being
killed. One host keeps them in SQLite (store_sqlite.py, the default); hosts that share
learners keep them in PostgreSQL (store_postgres.py) when `store.url` names one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

SESSION_FIELDS = ("id", "transport", "started_at", "ended_at")


class SessionStore(Protocol):
    """What the session manager and the HTTP edge need of a store; every call is committed
    when it returns and is safe from the event loop (a write is one small insert)."""

    def session_started(self, session_id: str, transport: str) -> None: ...

    def session_ended(self, session_id: str) -> None: ...

    def record(self, session_id: str, message: dict[str, Any]) -> None: ...

    def events(self, session_id: str, kind: str | None = None) -> list[dict[str, Any]]: ...

    def sessions(self) -> list[dict[str, Any]]: ...

    def close(self) -> None: ...


def open_store(url: str | None, sqlite_path: Path) -> SessionStore:
    """PostgreSQL when `url` is a postgresql:// URL, else the SQLite file (nothing about
    PostgreSQL is imported then)."""
    if url:
        from agent.session.store_postgres import PostgresStore

        return PostgresStore(url)
    from agent.session.store_sqlite import SqliteStore

    return SqliteStore(sqlite_path)
