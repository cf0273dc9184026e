"""Per-user delta storage: one safetensors blob per user, an index in SQLite.

Isolation is by construction: a user's blob is named by a hash of their id, carries the id
in its header, and is checked against the SQLite row (owner and SHA-256) before its tensors
are used. With a key set, blobs are encrypted at rest (Fernet: AES-128-CBC + HMAC).
"""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
import time
from pathlib import Path

from safetensors.torch import load as load_bytes
from safetensors.torch import save as save_bytes

from agent.personalization.bitdelta import PackedDelta
from agent.personalization.personalize import Deltas

USER_ID = re.compile(r"^[A-Za-z0-9_.@-]{1,128}$")


class DeltaStoreError(RuntimeError):
    """A missing, foreign or tampered delta, or a malformed user id."""


class DeltaStore:
    def __init__(self, root: Path, db_path: Path | None = None, key: bytes | None = None):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(
            str(db_path or self.root / "deltas.sqlite3"), check_same_thread=False
        )
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute(
            "CREATE TABLE IF NOT EXISTS deltas (user_id TEXT PRIMARY KEY, file TEXT NOT NULL,"
            " sha256 TEXT NOT NULL, bytes INTEGER NOT NULL, encrypted INTEGER NOT NULL,"
            " meta TEXT NOT NULL, updated REAL NOT NULL)"
        )
        self.db.commit()
        self._fernet = None
        if key is not None:
            from cryptography.fernet import Fernet

            self._fernet = Fernet(key)

    @staticmethod
    def new_key() -> bytes:
        from cryptography.fernet import Fernet

        return Fernet.generate_key()

    def _file(self, user_id: str) -> Path:
        if not USER_ID.match(user_id):
            raise DeltaStoreError(f"malformed user id {user_id!r}")
        return self.root / f"{hashlib.sha256(user_id.encode()).hexdigest()[:32]}.delta"

    def save(self, user_id: str, deltas: Deltas, meta: dict | None = None) -> int:
        """Write (or replace) a user's deltas; returns bytes on disk."""
        path = self._file(user_id)
        tensors = {f"{name}.bits": d.bits.contiguous().cpu() for name, d in deltas.items()}
        header = {name: {"alpha": d.alpha, "shape": list(d.shape)} for name, d in deltas.items()}
        blob = save_bytes(tensors, metadata={"user_id": user_id, "deltas": json.dumps(header)})
        if self._fernet is not None:
            blob = self._fernet.encrypt(blob)
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(blob)
        tmp.replace(path)
        self.db.execute(
            "INSERT OR REPLACE INTO deltas VALUES (?, ?, ?, ?, ?, ?, ?)",
            (user_id, path.name, hashlib.sha256(blob).hexdigest(), len(blob),
             int(self._fernet is not None), json.dumps(meta or {}), time.time()),
        )  # fmt: skip
        self.db.commit()
        return len(blob)

    def load(self, user_id: str) -> Deltas:
        """A user's deltas, verified to be theirs and untouched."""
        path = self._file(user_id)
        row = self.db.execute(
            "SELECT file, sha256, encrypted FROM deltas WHERE user_id = ?", (user_id,)
        ).fetchone()
        if row is None or row[0] != path.name or not path.exists():
            raise DeltaStoreError(f"no deltas stored for {user_id!r}")
        blob = path.read_bytes()
        if hashlib.sha256(blob).hexdigest() != row[1]:
            raise DeltaStoreError(f"deltas of {user_id!r} were modified on disk")
        if row[2]:
            if self._fernet is None:
                raise DeltaStoreError("deltas are encrypted and no key was given")
            blob = self._fernet.decrypt(blob)
        tensors = load_bytes(blob)
        meta = _header(blob)
        if meta.get("user_id") != user_id:
            raise DeltaStoreError(f"file for {user_id!r} belongs to {meta.get('user_id')!r}")
        header = json.loads(meta["deltas"])
        return {
            name: PackedDelta(tensors[f"{name}.bits"], info["alpha"], tuple(info["shape"]))
            for name, info in header.items()
        }

    def users(self) -> list[str]:
        return [r[0] for r in self.db.execute("SELECT user_id FROM deltas ORDER BY user_id")]

    def delete(self, user_id: str) -> None:
        self._file(user_id).unlink(missing_ok=True)
        self.db.execute("DELETE FROM deltas WHERE user_id = ?", (user_id,))
        self.db.commit()


def _header(blob: bytes) -> dict:
    """The string metadata of a safetensors blob."""
    size = int.from_bytes(blob[:8], "little")
    return json.loads(blob[8 : 8 + size]).get("__metadata__", {})
