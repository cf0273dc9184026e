"""The one interface every language-model backend implements.

A backend streams text pieces for a list of chat messages. The embedded llama.cpp model and
any OpenAI-compatible server (vLLM, llama.cpp server, Ollama) look the same to the pipeline,
so the controller can later pick a backend per turn.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import aclosing
from typing import TYPE_CHECKING, Protocol, TypedDict

from agent.llm.thinking import Piece

if TYPE_CHECKING:
    from agent.config import LLMSettings


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


def create_backend(settings: LLMSettings) -> ChatBackend:
    """The backend the settings name; the embedded one is shared by all sessions."""
    if settings.backend == "embedded":
        from agent.llm.llama_pool import LlamaCppPool

        return LlamaCppPool.shared(settings)
    from agent.llm.openai_backend import OpenAICompatibleBackend

    return OpenAICompatibleBackend(settings)


async def turn_pieces(
    backend: ChatBackend,
    messages: list[ChatMessage],
    *,
    max_tokens: int,
    temperature: float,
    think_tokens: int = 0,
) -> AsyncIterator[Piece]:
    """A reply as Pieces: with a thought first when asked and the backend can think."""
    if think_tokens > 0 and getattr(backend, "supports_thinking", False):
        stream = backend.stream_turn(  # type: ignore[attr-defined]
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
