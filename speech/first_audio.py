"""The answer's first clause gets the CPU: the LLM pauses while Piper speaks it.

On a 2-core host the LLM, generating the rest of the answer, took half the CPU from Piper
exactly while the learner waited for the first sound (a seven-word clause took ~440 ms to
synthesize instead of ~220 ms). Nothing needs the rest of the answer before the first clause
has played (a second or more), so generation waits until that clause's audio exists, for at
most `max_pause_s`. One gate per session: it never holds another learner's answer.
"""

from __future__ import annotations

import asyncio


class FirstAudioGate:
    """Held by the TTS while it synthesizes an answer's first clause; awaited by the LLM."""

    def __init__(self, max_pause_s: float = 0.6) -> None:
        self.max_pause_s = max_pause_s
        self._open = asyncio.Event()
        self._open.set()
        self.pauses = 0  # how often the LLM found the gate held (for tests and logs)

    @property
    def held(self) -> bool:
        return not self._open.is_set()

    def hold(self) -> None:
        self._open.clear()

    def release(self) -> None:
        self._open.set()

    async def wait(self) -> None:
        """Return once the first clause is synthesized, or after max_pause_s at the latest."""
        if self._open.is_set():
            return
        self.pauses += 1
        try:
            await asyncio.wait_for(self._open.wait(), self.max_pause_s)
        except TimeoutError:
            pass
