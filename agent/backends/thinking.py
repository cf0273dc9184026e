"""Thinking segments: pieces tagged as thought or answer, and budget forcing.

A model that thinks writes `<think> … </think>` before its answer. The tutor never speaks the
thought (the page may show it). Budget forcing, as Qwen3's and SGLang's thinking budgets do:
once the thought has used its token budget, the segment is closed for the model — the
`</think>` is appended to the prompt and generation continues with the answer.
"""

from __future__ import annotations

from dataclasses import dataclass

THINK_OPEN = "<think>"
THINK_CLOSE = "</think>"


@dataclass(frozen=True)
class Piece:
    """A streamed piece of a reply: part of the thought, or part of the spoken answer."""

    text: str
    thinking: bool = False
    tokens: int = 1  # generated tokens it stands for (a critiqued answer arrives as one piece)


def forced_close(thought: str) -> str:
    """What follows the prompt once thinking stops: the thought, closed, then the answer."""
    return f"{THINK_OPEN}\n{thought.strip()}\n{THINK_CLOSE}\n\n"


class ThinkTagSplitter:
    """Splits a text stream with inline <think>…</think> into thought and answer pieces.

    For servers that return the thought inside the content instead of a separate reasoning
    field. Tags may arrive cut across chunks, so a possible tag prefix is held back.
    """

    def __init__(self, thinking: bool = False) -> None:
        self.thinking = thinking
        self._held = ""

    def feed(self, text: str) -> list[Piece]:
        pieces: list[Piece] = []
        buffer = self._held + text
        self._held = ""
        while buffer:
            tag = THINK_CLOSE if self.thinking else THINK_OPEN
            at = buffer.find(tag)
            if at >= 0:
                if at:
                    pieces.append(Piece(buffer[:at], self.thinking))
                buffer = buffer[at + len(tag) :]
                self.thinking = not self.thinking
                continue
            keep = _partial_tag_suffix(buffer, tag)
            if len(buffer) > keep:
                pieces.append(Piece(buffer[: len(buffer) - keep], self.thinking))
            self._held = buffer[len(buffer) - keep :]
            break
        return pieces

    def flush(self) -> list[Piece]:
        held, self._held = self._held, ""
        return [Piece(held, self.thinking)] if held else []


def _partial_tag_suffix(text: str, tag: str) -> int:
    """Length of the longest suffix of text that is a proper prefix of tag."""
    for size in range(min(len(tag) - 1, len(text)), 0, -1):
        if tag.startswith(text[-size:]):
            return size
    return 0
