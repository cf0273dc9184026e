"""Several llama.cpp contexts over one gguf, so sessions answer side by side.

One context serialises generation: a learner's first clause waits for another learner's
whole answer (`eco1 eval sessions`, docs/reliability.md). A pool hands each turn the least
busy context; the weights are memory-mapped, so a second context costs its KV cache, not
another copy of the model.
"""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Callable
from contextlib import aclosing
from typing import TYPE_CHECKING, ClassVar

from agent.backends.base import ChatMessage
from agent.backends.llama_cpp import LlamaCppBackend, model_key
from agent.backends.thinking import Piece

if TYPE_CHECKING:
    from agent.config import LLMSettings


class LlamaCppPool:
    """A ChatBackend spreading turns over `llm.instances` llama.cpp contexts."""

    name = "embedded"
    supports_thinking = True
    _pools: ClassVar[dict[tuple, LlamaCppPool]] = {}
    _pools_lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, settings: LLMSettings) -> None:
        self.members = [LlamaCppBackend(settings) for _ in range(settings.instances)]
        self.busy = [0] * len(self.members)  # turns in flight per context (event-loop only)

    @classmethod
    def shared(cls, settings: LLMSettings) -> LlamaCppPool:
        """One pool per model setting, so every session of a process draws from it."""
        key = (*model_key(settings), settings.instances)
        with cls._pools_lock:
            if key not in cls._pools:
                cls._pools[key] = cls(settings)
            return cls._pools[key]

    def _least_busy(self) -> int:
        """The least busy context; on a quiet host always the first (its cache is warm)."""
        return min(range(len(self.members)), key=lambda i: (self.busy[i], i))

    def _take(self) -> int:
        index = self._least_busy()
        self.busy[index] += 1
        return index

    async def _on_a_member(self, open_stream: Callable[[LlamaCppBackend], AsyncIterator]):
        """Yields what open_stream(member) streams from the least busy context."""
        index = self._take()
        try:
            async with aclosing(open_stream(self.members[index])) as pieces:
                async for piece in pieces:
                    yield piece
        finally:
            self.busy[index] -= 1

    async def prefill(self, messages: list[ChatMessage]) -> int:
        """LlamaCppBackend.prefill on the context the next turn will take."""
        return await self.members[self._least_busy()].prefill(messages)

    async def read_conversation(self, messages: list[ChatMessage]) -> int:
        """LlamaCppBackend.read_conversation on an idle context (the saved state serves
        every context of the pool); -1 while any session's turn is in flight, as a
        read ahead for one learner must not take the CPU from another waiting for an
        answer."""
        if any(self.busy):
            return -1
        return await self.members[0].read_conversation(messages)

    def read_ahead(self, system_prompts: list[str | list[str]], stop: threading.Event) -> int:
        """Save the states of system messages turns are likely to send (run in a thread).

        Takes the context no turn is using where it can (busy counts are read without the
        loop, so a turn may still wait behind one read); returns how many were read.
        """
        read = 0
        for prompt in system_prompts:
            if stop.is_set():
                break
            member = min(range(len(self.members)), key=lambda i: (self.busy[i], -i))
            read += self.members[member].read_prompt(prompt)
        return read

    def stream(
        self, messages: list[ChatMessage], *, max_tokens: int, temperature: float
    ) -> AsyncIterator[str]:
        return self._on_a_member(
            lambda m: m.stream(messages, max_tokens=max_tokens, temperature=temperature)
        )

    def stream_turn(
        self, messages: list[ChatMessage], *, max_tokens: int, temperature: float,
        think_tokens: int = 0,
    ) -> AsyncIterator[Piece]:  # fmt: skip
        return self._on_a_member(
            lambda m: m.stream_turn(
                messages,
                max_tokens=max_tokens,
                temperature=temperature,
                think_tokens=think_tokens,
            )  # fmt: skip
        )

    async def warm_up(self) -> None:
        """Every context loads and caches the tutor prompt before the first learner."""
        for member in self.members:
            await member.warm_up()

    async def close(self) -> None:
        """The pool stays loaded for the next session."""
