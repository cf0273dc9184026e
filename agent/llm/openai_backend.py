"""Any OpenAI-compatible chat endpoint: vLLM, llama.cpp server, Ollama, a hosted API."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

import openai

from agent.llm.backend import BackendError, ChatMessage

if TYPE_CHECKING:
    from agent.config import LLMSettings


class OpenAICompatibleBackend:
    """Streams /v1/chat/completions from a remote server."""

    name = "openai"

    def __init__(self, settings: LLMSettings) -> None:
        self._settings = settings
        self._client = openai.AsyncOpenAI(
            base_url=settings.base_url, api_key=settings.api_key, timeout=settings.timeout_s
        )

    async def warm_up(self) -> None:
        """Nothing to load locally; the first request opens the connection."""

    async def stream(
        self, messages: list[ChatMessage], *, max_tokens: int, temperature: float
    ) -> AsyncIterator[str]:
        try:
            response = await self._client.chat.completions.create(
                model=self._settings.model,
                messages=list(messages),
                max_tokens=max_tokens,
                temperature=temperature,
                stream=True,
            )
            async with response:
                async for chunk in response:
                    if chunk.choices and (piece := chunk.choices[0].delta.content):
                        yield piece
        except openai.OpenAIError as exc:
            raise BackendError(f"LLM endpoint {self._settings.base_url} failed: {exc}") from exc

    async def close(self) -> None:
        await self._client.close()
