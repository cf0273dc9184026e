"""Event-loop lag and thread-pool wait. Audio for every session rides the loop, and aiortc
encodes each outgoing 20 ms of audio (and decodes each video frame) in the loop's default
thread pool, so a stall in either is a stall in every learner's audio; both are exported
and logged."""

from __future__ import annotations

import asyncio
import time

from loguru import logger
from prometheus_client import Histogram

TICK_S = 0.05
WARN_MS = 150.0


async def watch_event_loop(lag_ms: Histogram) -> None:
    """Runs until cancelled; observes every tick's lateness in milliseconds."""
    while True:
        start = time.perf_counter()
        await asyncio.sleep(TICK_S)
        late_ms = (time.perf_counter() - start - TICK_S) * 1000.0
        lag_ms.observe(max(0.0, late_ms))
        if late_ms > WARN_MS:
            logger.warning("event loop stalled for {:.0f} ms", late_ms)


async def watch_thread_pool(wait_ms: Histogram) -> None:
    """Runs until cancelled; observes how long a no-op waits for a default-pool thread."""
    loop = asyncio.get_running_loop()
    while True:
        await asyncio.sleep(TICK_S)
        start = time.perf_counter()
        await loop.run_in_executor(None, time.perf_counter)
        waited_ms = (time.perf_counter() - start) * 1000.0
        wait_ms.observe(waited_ms)
        if waited_ms > WARN_MS:
            logger.warning("default thread pool busy: a job waited {:.0f} ms", waited_ms)
