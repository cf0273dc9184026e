"""Run a service in a child process on a free loopback port, and stop it cleanly.

Used for `eco1 serve`, the stock-Pipecat baseline server, and llama.cpp's own
OpenAI-compatible server (the real remote-backend peer in tests).
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ServerProcess:
    """Context manager: starts a server, waits for its health URL, stops it on exit.

    By default it runs `eco1 serve`; `module` runs another `python -m` server that takes
    --host/--port, and `command` runs anything; "{port}" in it becomes the chosen port.
    """

    def __init__(
        self,
        extra_args: list[str] | None = None,
        *,
        module: str = "agent.cli",
        command: list[str] | None = None,
        health_path: str | None = "/healthz",
        env: dict[str, str] | None = None,
        log_path: Path | None = None,
        ready_timeout: float = 180.0,
    ) -> None:
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        subcommand = ["serve"] if module == "agent.cli" else []
        self._args = [part.replace("{port}", str(self.port)) for part in command or []] or [
            sys.executable, "-m", module, *subcommand,
            "--host", "127.0.0.1", "--port", str(self.port), *(extra_args or []),
        ]  # fmt: skip
        self._health_url = None if health_path is None else self.base_url + health_path
        # Each server gets its own database unless the caller names one.
        self._scratch = tempfile.mkdtemp(prefix="eco1-server-")
        defaults = {
            "ECO1_SERVER__DB_PATH": str(Path(self._scratch) / "eco1.sqlite3"),
            "ECO1_SERVER__API_TOKEN": secrets.token_urlsafe(24),  # clients use self.token
            # An eval is one load generator on one address, not a client to be throttled.
            "ECO1_SERVER__OFFERS_PER_MINUTE": "100000",
        }
        self._env = {**os.environ, "HF_HUB_OFFLINE": "1", **defaults, **(env or {})}
        self.token = self._env["ECO1_SERVER__API_TOKEN"]
        self.headers = {"Authorization": f"Bearer {self.token}"}
        self._log_path = log_path
        self._ready_timeout = ready_timeout
        self._process: subprocess.Popen | None = None
        self._log = None

    def __enter__(self) -> ServerProcess:
        self._log = open(self._log_path, "w") if self._log_path else subprocess.DEVNULL  # noqa: SIM115
        self._process = subprocess.Popen(
            self._args, env=self._env, stdout=self._log, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + self._ready_timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"{self._args[:4]} exited with code {self._process.returncode}")
            if self._ready():
                return self
            time.sleep(0.25)
        self.__exit__(None, None, None)
        raise TimeoutError(f"{self._args[:4]} not ready within {self._ready_timeout:.0f}s")

    def _ready(self) -> bool:
        """The health URL answers 200, or (health_path=None) the port accepts connections."""
        if self._health_url is None:
            with socket.socket() as sock:
                return sock.connect_ex(("127.0.0.1", self.port)) == 0
        try:
            return httpx.get(self._health_url, timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def wait_read_ahead(self, timeout: float = 600.0) -> None:
        """Until the LLM has read the knowledge base's prompts ahead (healthz says so), so a
        benchmark measures the steady state, not the minute after start-up."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            health = httpx.get(self._health_url or f"{self.base_url}/healthz", timeout=5).json()
            if health.get("llm_read_ahead", "off") != "running":
                return
            time.sleep(0.5)
        raise TimeoutError(f"LLM read-ahead still running after {timeout:.0f}s")

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs, as when the host loses the process."""
        if self._process and self._process.poll() is None:
            self._process.kill()
            self._process.wait()

    def rss_mb(self) -> float:
        """The server process's resident memory now, from /proc (Linux)."""
        if self._process is None:
            return 0.0
        for line in Path(f"/proc/{self._process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
        return 0.0

    def alive(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def __exit__(self, *_exc) -> None:
        if self._process and self._process.poll() is None:
            self._process.send_signal(signal.SIGINT)
            try:
                self._process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        if self._log not in (None, subprocess.DEVNULL):
            self._log.close()
        shutil.rmtree(self._scratch, ignore_errors=True)


def llama_cpp_server(model_alias: str = "smollm2") -> ServerProcess:
    """llama.cpp's OpenAI-compatible server on the packaged SmolLM2 gguf."""
    from speech.assets import smollm2_gguf

    return ServerProcess(
        command=[
            sys.executable, "-m", "llama_cpp.server", "--model", str(smollm2_gguf()),
            "--host", "127.0.0.1", "--port", "{port}", "--n_ctx", "2048",
            "--n_threads", "1", "--model_alias", model_alias,
        ],
        health_path="/v1/models",
        ready_timeout=60,
    )  # fmt: skip
