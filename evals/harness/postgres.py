"""A real PostgreSQL server for tests and benchmarks: Debian's binaries, a throwaway cluster.

initdb into a fresh folder, pg_ctl on a free loopback port, trust auth for one user; the
folder goes when the context exits. PostgreSQL refuses to run as root, so as root the
cluster runs as the `postgres` user the Debian package creates (.ci/run installs it).
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

USER = "eco1"


class PostgresMissing(RuntimeError):
    """No PostgreSQL server binaries on this machine."""


def _binary(name: str) -> str:
    found = shutil.which(name) or next(
        iter(sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)), None
    )
    if found is None:
        raise PostgresMissing(
            f"PostgreSQL's {name} was not found: apt-get install postgresql (.ci/run does)"
        )
    return found


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_server_user(command: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


@contextmanager
def local_postgres() -> Iterator[str]:
    """Start a PostgreSQL cluster; yields its URL (database `postgres`, user eco1)."""
    initdb, pg_ctl = _binary("initdb"), _binary("pg_ctl")
    root = Path(tempfile.mkdtemp(prefix="eco1-pg-"))
    data, port = root / "data", _free_port()
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    run = lambda cmd: subprocess.run(  # noqa: E731
        _as_server_user(cmd), check=True, capture_output=True, text=True, timeout=120
    )
    try:
        run([initdb, "-D", str(data), "-U", USER, "--auth=trust", "-E", "UTF8", "--no-sync"])
        options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=on"
        run([pg_ctl, "-D", str(data), "-o", options, "-l", str(root / "log"), "-w", "start"])
        try:
            yield f"postgresql://{USER}@127.0.0.1:{port}/postgres"
        finally:
            run([pg_ctl, "-D", str(data), "-m", "fast", "-w", "stop"])
    except subprocess.CalledProcessError as exc:
        raise RuntimeError(f"PostgreSQL failed: {exc.cmd}: {exc.stderr.strip()}") from exc
    finally:
        shutil.rmtree(root, ignore_errors=True)
