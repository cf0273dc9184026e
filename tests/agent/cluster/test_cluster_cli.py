"""`eco1 serve --cluster local` as a user runs it: a one-machine Ray, a session host and two
fronts, up until SIGTERM."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time

import httpx
import pytest

pytestmark = pytest.mark.slow
TOKEN = "cluster-cli-token-012345"
PORT = 18970


def lines_of(process: subprocess.Popen) -> queue.Queue:
    found: queue.Queue = queue.Queue()

    def pump() -> None:
        for line in process.stdout:
            found.put(line)

    threading.Thread(target=pump, daemon=True).start()
    return found


def wait_for(lines: queue.Queue, text: str, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    seen = []
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=1.0)
        except queue.Empty:
            continue
        seen.append(line)
        if text in line:
            return line
    raise AssertionError(f"no {text!r} within {timeout} s; output:\n{''.join(seen[-40:])}")


def test_serve_cluster_local_starts_a_host_behind_two_fronts(tmp_path):
    env = os.environ | {
        "ECO1_SERVER__API_TOKEN": TOKEN, "ECO1_SERVER__DB_PATH": str(tmp_path / "db.sqlite3"),
        "ECO1_LLM__READ_AHEAD": "false", "ECO1_PERCEPTION__ENABLED": "false",
    }  # fmt: skip
    command = [sys.executable, "-m", "agent.cli", "serve", "--cluster", "local",
               "--port", str(PORT)]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True, env=env, start_new_session=True)  # fmt: skip
    try:
        lines = lines_of(process)
        started = wait_for(lines, "fronts at", 300)
        assert "1 session host(s)" in started
        for port in (PORT, PORT + 1):
            health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=10)
            assert health.status_code == 200 and health.json()["hosts"][0]["ready"]
        refused = httpx.post(f"http://127.0.0.1:{PORT}/api/offer", json={}, timeout=10)
        assert refused.status_code == 401  # the fronts want the token too
        process.send_signal(signal.SIGTERM)  # the command alone: it stops Ray itself
        assert process.wait(timeout=60) == 0
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
