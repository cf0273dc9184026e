"""The thread-pool probe sees aiortc's codecs wait when model work fills the default pool."""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor

from prometheus_client import CollectorRegistry, Histogram

from agent.edge.loop_monitor import watch_thread_pool


def observed(histogram: Histogram) -> tuple[float, float]:
    """(count, sum) of a histogram's observations."""
    samples = {s.name: s.value for metric in histogram.collect() for s in metric.samples}
    return samples["wait_ms_count"], samples["wait_ms_sum"]


async def probe_while(blocking_s: float) -> tuple[float, float]:
    loop = asyncio.get_running_loop()
    loop.set_default_executor(ThreadPoolExecutor(max_workers=1))
    wait_ms = Histogram("wait_ms", "test", registry=CollectorRegistry())
    monitor = asyncio.create_task(watch_thread_pool(wait_ms))
    if blocking_s:
        await loop.run_in_executor(None, time.sleep, blocking_s)  # a model call holding the pool
    await asyncio.sleep(0.3)
    monitor.cancel()
    return observed(wait_ms)


def test_a_busy_pool_is_measured():
    count, total_ms = asyncio.run(probe_while(0.4))
    assert count >= 2
    assert total_ms > 250  # the probe queued behind the 0.4 s job


def test_a_free_pool_waits_little():
    count, total_ms = asyncio.run(probe_while(0.0))
    assert count >= 2
    assert total_ms / count < 100
