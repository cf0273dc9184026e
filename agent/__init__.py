"""Agent: server, sessions, pipeline assembly, LLM backends, config and CLI."""
