"""The one interface every language-model backend implements.

A backend streams text pieces for a list of chat messages. The embedded llama.cpp model and
any OpenAI-compatible server (vLLM, llama.cpp server, Ollama) look the same to the pipeline,
so the controller can later pick a backend per turn.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import aclosing
from typing import Protocol, TypedDict, runtime_checkable

from agent.backends.thinking import Piece


class ChatMessage(TypedDict):
    role: str
    content: str


class BackendError(RuntimeError):
    """The backend could not answer (unreachable server, bad model, ...)."""


class ChatBackend(Protocol):
    """Streams an answer; cancelling the iterator stops generation promptly."""

    name: str

    def stream(
        self, messages: list[ChatMessage], *, max_tokens: int, temperature: float
    ) -> AsyncIterator[str]: ...

    async def warm_up(self) -> None:
        """Load weights / open connections before the first learner turn."""

    async def close(self) -> None: ...


@runtime_checkable
class ThinkingBackend(Protocol):
    """A backend that can stream a budget-forced thought before its answer, when
    `supports_thinking` is true (an OpenAI-compatible server only if configured so)."""

    supports_thinking: bool

    def stream_turn(
        self, messages: list[ChatMessage], *, max_tokens: int, temperature: float, think_tokens: int
    ) -> AsyncIterator[Piece]: ...


@runtime_checkable
class PrefillingBackend(Protocol):
    """A backend that can read a prompt into its cache before the turn commits; returns the
    tokens read (0: held already, -1: busy)."""

    async def prefill(self, messages: list[ChatMessage]) -> int: ...


@runtime_checkable
class ConversationReadingBackend(Protocol):
    """A backend that can read a likely next prompt ahead and save its state between turns;
    returns the tokens read (0: saved already, -1: busy)."""

    async def read_conversation(self, messages: list[ChatMessage]) -> int: ...


def can_think(backend: ChatBackend) -> bool:
    """True where the backend streams a budget-forced thought before its answer."""
    return isinstance(backend, ThinkingBackend) and backend.supports_thinking


async def turn_pieces(
    backend: ChatBackend,
    messages: list[ChatMessage],
    *,
    max_tokens: int,
    temperature: float,
    think_tokens: int = 0,
) -> AsyncIterator[Piece]:
    """A reply as Pieces: with a thought first when asked and the backend can think."""
    if think_tokens > 0 and can_think(backend):
        stream = backend.stream_turn(
            messages, max_tokens=max_tokens, temperature=temperature, think_tokens=think_tokens
        )
        async with aclosing(stream) as pieces:
            async for piece in pieces:
                yield piece
        return
    async with aclosing(backend.stream(messages, max_tokens=max_tokens,
                                       temperature=temperature)) as texts:  # fmt: skip
        async for text in texts:
            yield Piece(text)
