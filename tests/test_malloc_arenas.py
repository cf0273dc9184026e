"""The serving process caps glibc's malloc arenas (docs/reliability.md, `eco1 eval soak`)."""

from __future__ import annotations

import subprocess
import sys

from agent.config import Settings
from agent.malloc_arenas import cap_malloc_arenas


def test_zero_leaves_glibc_default():
    assert cap_malloc_arenas(0) is False


def test_the_cap_takes_effect_in_a_fresh_process():
    code = "from agent.malloc_arenas import cap_malloc_arenas; print(cap_malloc_arenas(2))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "True"  # glibc (Linux) accepts M_ARENA_MAX


def test_the_server_caps_at_two_by_default():
    assert Settings().server.malloc_arenas == 2
