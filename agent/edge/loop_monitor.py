"""Event-loop lag: how late a 50 ms timer fires. Audio for every session rides this loop,
so a stall here is a stall in every learner's audio; it is exported and logged."""

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
