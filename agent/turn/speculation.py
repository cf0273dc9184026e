"""Generation on the provisional transcript: the answer's opening clause is written, and handed
to the TTS to synthesize, while the turn detector is still deciding whether the learner is done.

Nothing reaches the learner before the turn commits. At the commit the service adopts the
speculation only if the committed turn sends exactly the prompt it was started with, under a
plain plan (no thinking, no critique, the embedded tier); the answer then continues from the
pieces already written. Any other turn, a learner who goes on speaking, or a speculation nobody
claims within `max_age_s` closes the stream: llama.cpp stops within a token, and what it read
of the prompt stays in its cache for the turn that follows.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import suppress
from dataclasses import dataclass
from typing import ClassVar

from loguru import logger

from agent.backends.base import ChatMessage
from agent.backends.thinking import Piece

# How much a speculation may write before the commit: enough for any opening clause (the
# clause cut forces a break after 2 x first_clause_words words), little enough that a
# discarded one wasted no more than a fraction of a second.
MAX_PIECES = 24


@dataclass
class AnswerSpeculationCounts:
    """How speculative answers ended (for tests, logs and /metrics)."""

    stage: ClassVar[str] = "llm"  # the label of /metrics' eco1_speculations
    started: int = 0
    adopted: int = 0
    discarded: int = 0


class SpeculativeAnswer:
    """The first pieces of an answer to a prompt that is not committed yet."""

    def __init__(
        self,
        messages: list[ChatMessage],
        stream: AsyncIterator[Piece],
        opening_clause: Callable[[str], str | None],
        on_clause: Callable[[str], Awaitable[None]],
        max_age_s: float = 3.0,
    ) -> None:
        self.messages = messages
        self.pieces: list[Piece] = []
        self.clause: str | None = None
        self._stream = stream
        self._ended = False  # the whole answer fit in what was read ahead
        self._reader = asyncio.create_task(self._read(opening_clause, on_clause))
        self._expiry = asyncio.get_running_loop().call_later(max_age_s, self._expire)
        self._closed = False

    async def _read(
        self, opening_clause: Callable[[str], str | None], on_clause: Callable[[str], Awaitable]
    ) -> None:
        """Reads pieces until the opening clause is complete, then lets the model wait."""
        text = ""
        while len(self.pieces) < MAX_PIECES:
            piece = await anext(self._stream, None)
            if piece is None:
                self._ended = True
                self.clause = text.strip() or None
                break
            self.pieces.append(piece)
            text += piece.text
            if (clause := opening_clause(text)) is not None:
                self.clause = clause
                break
        if self.clause:
            await on_clause(self.clause)

    @property
    def usable(self) -> bool:
        """Still open and not failed: an expired or broken speculation is never adopted."""
        reader = self._reader
        failed = reader.done() and (reader.cancelled() or reader.exception() is not None)
        return not self._closed and not failed

    def _expire(self) -> None:
        if not self._closed:
            logger.debug("speculative answer not claimed in time; closing it")
            asyncio.ensure_future(self.discard())

    async def adopt(self) -> AsyncIterator[Piece]:
        """The answer: the pieces written ahead, then the rest of the same stream."""
        self._expiry.cancel()
        self._closed = True
        try:
            await self._reader  # usually done: the clause was complete before the commit
            for piece in self.pieces:
                yield piece
            if not self._ended:
                while (piece := await anext(self._stream, None)) is not None:
                    yield piece
        finally:
            await self._close_stream()

    async def discard(self) -> None:
        """Stop the model and forget what it wrote."""
        self._expiry.cancel()
        self._closed = True
        self._reader.cancel()
        with suppress(asyncio.CancelledError, Exception):
            await self._reader
        await self._close_stream()

    async def _close_stream(self) -> None:
        aclose = getattr(self._stream, "aclose", None)
        if aclose is not None:
            with suppress(Exception):
                await aclose()
