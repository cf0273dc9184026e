"""The Pipecat LLM service that answers each learner turn through a ChatBackend."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import aclosing
from typing import Any

from loguru import logger
from pipecat.frames.frames import (
    Frame,
    LLMContextFrame,
    LLMFullResponseEndFrame,
    LLMFullResponseStartFrame,
)
from pipecat.processors.frame_processor import FrameDirection
from pipecat.services.llm_service import LLMService
from pipecat.services.settings import LLMSettings as PipecatLLMSettings

from agent.faults import FaultInjected
from agent.llm.backend import ChatBackend, ChatMessage
from planner.frames import PlanActionFrame
from planner.observations import last_user_text, text_of
from speech.frames import FallbackFrame


def chat_messages(system_prompt: str, context_messages: list[Any]) -> list[ChatMessage]:
    """System prompt first, then the conversation's user/assistant text turns."""
    messages: list[ChatMessage] = [{"role": "system", "content": system_prompt}]
    for message in context_messages:
        role = message.get("role") if isinstance(message, dict) else None
        text = text_of(message.get("content")) if role else ""
        if role in ("user", "assistant") and text.strip():
            messages.append({"role": role, "content": text.strip()})
    return messages


LLM_FALLBACK_LINE = "Sorry, I lost my train of thought. Could you ask me that again?"


async def _never() -> AsyncIterator[str]:
    """An LLM stream that hangs (the injected timeout)."""
    await asyncio.Event().wait()
    yield ""


# Facts for a learner's words within the turn's budget (tools/mcp_client.TurnToolbox).
ContextProvider = Callable[[str], Awaitable[list[str]]]


class TutorLLMService(LLMService):
    """Streams a tutor answer for every LLMContextFrame; stops when interrupted."""

    def __init__(
        self,
        backend: ChatBackend,
        *,
        system_prompt: str,
        max_tokens: int,
        temperature: float,
        context_provider: ContextProvider | None = None,
        first_token_timeout_s: float = 10.0,
        fault: Callable[[str], bool] | None = None,
        **kwargs: Any,
    ) -> None:
        settings = PipecatLLMSettings(
            model=backend.name,
            system_instruction=None,  # the tutor prompt is prepended per request instead
            temperature=temperature,
            max_tokens=max_tokens,
            top_p=None,
            top_k=None,
            frequency_penalty=None,
            presence_penalty=None,
            seed=None,
            filter_incomplete_user_turns=False,
            user_turn_completion_config=None,
        )
        super().__init__(settings=settings, **kwargs)
        self._backend = backend
        self._system_prompt = system_prompt
        self._turn_hint = ""
        self._context_provider = context_provider
        self._first_token_timeout_s = first_token_timeout_s
        self._fault = fault or (lambda _kind: False)

    def _open_stream(self, messages: list[ChatMessage]) -> AsyncIterator[str]:
        if self._fault("llm_error"):
            raise FaultInjected("injected LLM failure")
        if self._fault("llm_timeout"):
            return _never()
        return self._backend.stream(
            messages, max_tokens=self._settings.max_tokens, temperature=self._settings.temperature
        )

    @property
    def backend(self) -> ChatBackend:
        return self._backend

    def set_system_prompt(self, prompt: str) -> None:
        """A new persona for the following replies (MCP's set_persona)."""
        if not prompt.strip():
            raise ValueError("persona is empty")
        self._system_prompt = prompt.strip()

    def can_generate_metrics(self) -> bool:
        return True

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        if isinstance(frame, PlanActionFrame):
            self._turn_hint = frame.prompt_hint  # the planner's choice steers this turn
        if not isinstance(frame, LLMContextFrame):
            await self.push_frame(frame, direction)
            return
        system = self._system_prompt
        if self._context_provider is not None:
            facts = await self._context_provider(last_user_text(frame.context.get_messages()))
            if facts:
                logger.info("tool facts for this turn: {}", facts)
                system += "\nFacts you may use (from tools): " + " ".join(facts)
        if self._turn_hint:
            system, self._turn_hint = f"{system}\nFor this reply: {self._turn_hint}", ""
        messages = chat_messages(system, frame.context.get_messages())
        await self.push_frame(LLMFullResponseStartFrame())
        await self.start_processing_metrics()
        await self.start_ttfb_metrics()
        spoke = False
        try:
            stream = self._open_stream(messages)
            # aclosing: a barge-in cancels this task, and the backend must stop generating
            # now, not whenever the abandoned generator is garbage-collected.
            async with aclosing(stream):
                pieces = aiter(stream)
                first = await asyncio.wait_for(anext(pieces, None), self._first_token_timeout_s)
                if first is not None:
                    await self.stop_ttfb_metrics()
                    await self._push_llm_text(first)
                    spoke = True
                async for piece in pieces:
                    await self._push_llm_text(piece)
        except Exception as exc:  # a failing backend degrades the turn, not the session
            reason = "no first token in time" if isinstance(exc, TimeoutError) else str(exc)
            logger.error("LLM backend {} failed: {}", self._backend.name, reason)
            await self.push_error(error_msg=f"LLM failed: {reason}", exception=exc)
            if not spoke:  # say something rather than leave the learner in silence
                await self.push_frame(FallbackFrame(stage="llm", reason=reason))
                await self._push_llm_text(LLM_FALLBACK_LINE)
        finally:
            await self.stop_ttfb_metrics()
            await self.stop_processing_metrics()
            await self.push_frame(LLMFullResponseEndFrame())
