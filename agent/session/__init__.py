"""One learner's session: its manager, pipeline assembly, transports, messages and events."""
