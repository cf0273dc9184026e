"""Builds the backend that settings name (kept apart from base.py, which the backends import,
so no module imports its own importers)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from agent.backends.base import ChatBackend
    from agent.config import LLMSettings


def create_backend(settings: LLMSettings) -> ChatBackend:
    """The backend the settings name; the embedded one is shared by all sessions."""
    if settings.backend == "embedded":
        from agent.backends.llama_pool import LlamaCppPool

        return LlamaCppPool.shared(settings)
    from agent.backends.openai_compatible import OpenAICompatibleBackend

    return OpenAICompatibleBackend(settings)
