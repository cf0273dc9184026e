"""LLM backends behind one interface, and the Pipecat service that drives them."""

from agent.llm.backend import ChatBackend, ChatMessage, create_backend

__all__ = ["ChatBackend", "ChatMessage", "create_backend"]
