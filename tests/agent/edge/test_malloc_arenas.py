"""The serving process caps glibc's malloc arenas (docs/reliability.md, `eco1 eval soak`) and
the native libraries' OpenMP threads (docs/latency.md)."""

from __future__ import annotations

import os
import subprocess
import sys

from agent.config import Settings
from agent.edge.malloc_arenas import cap_malloc_arenas


def test_zero_leaves_glibc_default():
    assert cap_malloc_arenas(0) is False


def test_the_cap_takes_effect_in_a_fresh_process():
    code = "from agent.edge.malloc_arenas import cap_malloc_arenas; print(cap_malloc_arenas(2))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "True"  # glibc (Linux) accepts M_ARENA_MAX


def test_the_server_caps_at_two_by_default():
    assert Settings().server.malloc_arenas == 2


def test_native_threads_are_capped_unless_the_operator_chose(monkeypatch):
    from agent.cli import limit_native_threads

    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    limit_native_threads(0)
    assert "OMP_NUM_THREADS" not in os.environ
    limit_native_threads(1)
    assert os.environ["OMP_NUM_THREADS"] == "1"
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    limit_native_threads(1)
    assert os.environ["OMP_NUM_THREADS"] == "3"
