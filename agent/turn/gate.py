"""A model's streamed answer, let through one sentence at a time once the facets support it.

Used for replies a model writes from a concept's facets (a what-if): the learner hears a
sentence only after it is checked (agent/tutoring/support.py), so an unsupported sentence is
dropped rather than spoken. Thinking pieces pass straight through (they are never spoken).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator

from agent.backends.thinking import Piece
from agent.tutoring.support import supported_answer, supported_sentences

SENTENCE_END = re.compile(r"[.!?](?:\s|$)")


async def gated(stream: AsyncIterator[Piece], notes: list[str]) -> AsyncIterator[Piece]:
    pending, tokens, spoke = "", 0, False
    async for piece in stream:
        if piece.thinking:
            yield piece
            continue
        pending += piece.text
        tokens += piece.tokens
        while (end := SENTENCE_END.search(pending)) is not None:
            sentence, pending = pending[: end.end()], pending[end.end() :]
            kept = await asyncio.to_thread(supported_sentences, sentence, notes)
            if kept:
                yield Piece(" ".join(kept) + " ", tokens=tokens)
                spoke, tokens = True, 0
    if pending.strip():
        kept = await asyncio.to_thread(supported_sentences, pending, notes)
        if kept:
            yield Piece(" ".join(kept), tokens=tokens)
            spoke = True
    if not spoke:
        yield Piece(supported_answer("", notes), tokens=tokens)
