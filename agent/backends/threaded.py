"""Run a blocking generator job in a worker thread and stream what it emits to asyncio.

Model libraries (llama.cpp, torch) generate token by token in blocking loops; the event loop
must keep moving audio meanwhile. The job gets emit(item) and a stop Event; cancelling the
consumer (a barge-in, a vanished client) sets stop, and the job returns at its next token.
With a `window`, emit blocks while that many items wait unread, so a consumer that pauses
(speech/first_audio.py) pauses the job too, within a few tokens.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable
from typing import Any

from agent.backends.base import BackendError

_DONE = object()

Job = Callable[[Callable[[Any], None], threading.Event], None]


async def stream_from_thread(
    job: Job, name: str, what: str, window: int | None = None
) -> AsyncIterator[Any]:
    """Yields what job emits; an exception inside the job becomes BackendError(what ...)."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue = asyncio.Queue()
    stop = threading.Event()
    unread = threading.Semaphore(window) if window else None

    def send(item: Any) -> None:
        try:
            loop.call_soon_threadsafe(queue.put_nowait, item)
        except RuntimeError:  # the loop has closed (shutdown): nobody is listening any more
            pass

    def emit(item: Any) -> None:
        if unread is not None:
            while not unread.acquire(timeout=0.05):
                if stop.is_set():  # the consumer left; it will never read this
                    return
        send(item)

    def run() -> None:
        try:
            job(emit, stop)
        except Exception as exc:  # surfaced to the awaiting coroutine
            send(exc)
        finally:
            send(_DONE)

    threading.Thread(target=run, name=name, daemon=True).start()
    try:
        while (item := await queue.get()) is not _DONE:
            if isinstance(item, Exception):
                raise BackendError(f"{what} failed: {item}") from item
            if unread is not None:
                unread.release()
            yield item
    finally:
        stop.set()
