"""Cap glibc's malloc arenas for the serving process.

glibc gives threads their own malloc arenas (up to 8 per core) and memory freed into an
arena stays there. A tutor session runs its inference on several short-lived threads (VAD,
smart-turn, Whisper, Piper, llama.cpp), so resident memory crept up with every session that
talked even once nothing leaked any more; with two arenas it stays flat (`eco1 eval soak`,
docs/reliability.md "Memory over many sessions").
`mallopt(M_ARENA_MAX)` sets the same cap as the MALLOC_ARENA_MAX environment variable, from
inside the process, before the sessions' threads start.
"""

from __future__ import annotations

import ctypes
import ctypes.util

M_ARENA_MAX = -8  # from glibc's malloc.h


def cap_malloc_arenas(arenas: int) -> bool:
    """Limit glibc to `arenas` malloc arenas; False where that cannot be done (not glibc).

    0 leaves glibc's default.
    """
    if arenas <= 0:
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return bool(libc.mallopt(ctypes.c_int(M_ARENA_MAX), ctypes.c_int(arenas)))
    except (OSError, AttributeError):  # musl, macOS: no mallopt or no such option
        return False
