"""Run `eco1 serve` in a child process on a free loopback port, and stop it cleanly."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ServerProcess:
    """Context manager: starts the service, waits for /healthz, terminates it on exit."""

    def __init__(
        self,
        extra_args: list[str] | None = None,
        module: str = "agent.cli",
        env: dict[str, str] | None = None,
        log_path: Path | None = None,
        ready_timeout: float = 180.0,
    ) -> None:
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self._args = [
            sys.executable,
            "-m",
            module,
            *(["serve"] if module == "agent.cli" else []),
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            *(extra_args or []),
        ]
        self._env = {**os.environ, "HF_HUB_OFFLINE": "1", **(env or {})}
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
                raise RuntimeError(f"eco1 serve exited with code {self._process.returncode}")
            try:
                if httpx.get(f"{self.base_url}/healthz", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.25)
        self.__exit__(None, None, None)
        raise TimeoutError(f"eco1 serve not ready within {self._ready_timeout:.0f}s")

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
