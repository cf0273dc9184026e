"""Any OpenAI-compatible chat endpoint: vLLM, llama.cpp server, Ollama, a hosted API."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import aclosing
from typing import TYPE_CHECKING, Any

import openai

from agent.backends.base import BackendError, ChatMessage
from agent.backends.thinking import Piece, ThinkTagSplitter, forced_close

if TYPE_CHECKING:
    from agent.config import LLMSettings


def _reasoning(delta: Any) -> str | None:
    """vLLM and SGLang put the thought in `reasoning_content` (newer vLLM: `reasoning`)."""
    extra = getattr(delta, "model_extra", None) or {}
    return extra.get("reasoning_content") or extra.get("reasoning")


def merged_system_messages(messages: list[ChatMessage]) -> list[ChatMessage]:
    """Every system message joined into one at the start: many served chat templates
    (Mistral's, Gemma's) refuse a second system message or one after the conversation, and a
    remote server keeps no prompt states for the layout to help."""
    systems = [m["content"] for m in messages if m["role"] == "system"]
    if len(systems) < 2:
        return list(messages)
    rest = [m for m in messages if m["role"] != "system"]
    return [{"role": "system", "content": "\n".join(systems)}, *rest]


class OpenAICompatibleBackend:
    """Streams /v1/chat/completions from a remote server."""

    name = "openai"

    def __init__(self, settings: LLMSettings) -> None:
        self._settings = settings
        self.supports_thinking = settings.thinking
        self._client = openai.AsyncOpenAI(
            base_url=settings.base_url, api_key=settings.api_key, timeout=settings.timeout_s
        )

    async def warm_up(self) -> None:
        """Nothing to load locally; the first request opens the connection."""

    async def _deltas(
        self, messages: list[ChatMessage], max_tokens: int, temperature: float, **extra: Any
    ) -> AsyncIterator[Any]:
        try:
            response = await self._client.chat.completions.create(
                model=self._settings.model,
                messages=merged_system_messages(messages),
                max_tokens=max_tokens,
                temperature=temperature,
                stream=True,
                extra_body=extra or None,
            )
            async with response:
                async for chunk in response:
                    if chunk.choices:
                        yield chunk.choices[0].delta
        except openai.OpenAIError as exc:
            raise BackendError(f"LLM endpoint {self._settings.base_url} failed: {exc}") from exc

    async def stream(
        self, messages: list[ChatMessage], *, max_tokens: int, temperature: float
    ) -> AsyncIterator[str]:
        async with aclosing(self._deltas(messages, max_tokens, temperature)) as deltas:
            async for delta in deltas:
                if delta.content:
                    yield delta.content

    async def stream_turn(
        self, messages: list[ChatMessage], *, max_tokens: int, temperature: float,
        think_tokens: int = 0,
    ) -> AsyncIterator[Piece]:  # fmt: skip
        """Thought (from the reasoning field or inline tags) then answer, budget-forced.

        Each streamed chunk counts as one token, as vLLM streams them. When the budget is
        spent the stream is dropped and a second request continues the assistant message
        after a forced </think> (vLLM's continue_final_message).
        """
        template = {"enable_thinking": think_tokens > 0}
        splitter, thought, spent, answering = ThinkTagSplitter(), "", 0, False
        first = self._deltas(messages, max_tokens + think_tokens, temperature,
                             chat_template_kwargs=template)  # fmt: skip
        async with aclosing(first) as deltas:
            async for delta in deltas:
                pieces = [Piece(r, thinking=True)] if (r := _reasoning(delta)) else []
                pieces += splitter.feed(delta.content or "")
                for piece in pieces:
                    if piece.thinking:
                        thought += piece.text
                        spent += 1
                    else:
                        answering = answering or bool(piece.text.strip())
                    yield piece
                if think_tokens and spent >= think_tokens and not answering:
                    break
            else:
                for piece in splitter.flush():
                    yield piece
                return
        resumed = [*messages, {"role": "assistant", "content": forced_close(thought)}]
        second = self._deltas(
            resumed, max_tokens, temperature, chat_template_kwargs=template,
            continue_final_message=True, add_generation_prompt=False,
        )  # fmt: skip
        async with aclosing(second) as deltas:
            async for delta in deltas:
                if delta.content:
                    yield Piece(delta.content)

    async def close(self) -> None:
        await self._client.close()
