"""Self-critique: draft → critique → revise, kept only if the revision is better grounded.

Runs before anything is spoken, so each round costs the learner the draft, the critique and
the revision in latency; the controller allows rounds only when its budget has room. Small
models often make a revision worse, so a revision replaces the draft only when it stays as
close to the notes (retrieval.grounding) as the draft was.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import aclosing
from dataclasses import dataclass, field

from agent.backends.base import ChatBackend, ChatMessage
from agent.config.prompts import CRITIC_PROMPT, REVISE_PROMPT

Grounding = Callable[[str], float | None]


@dataclass
class CritiqueResult:
    answer: str
    critiques: list[str] = field(default_factory=list)
    revisions_kept: int = 0
    tokens: int = 0  # pieces generated across drafts, critiques and revisions


async def collect(stream: AsyncIterator[str]) -> tuple[str, int]:
    """The whole text of a stream and how many pieces (≈ tokens) it had."""
    parts: list[str] = []
    async with aclosing(stream) as pieces:
        async for piece in pieces:
            parts.append(piece)
    return "".join(parts).strip(), len(parts)


def critic_messages(question: str, draft: str, notes: str) -> list[ChatMessage]:
    system = CRITIC_PROMPT + (f"\nNotes: {notes}" if notes else "")
    user = f"Question: {question}\nDraft answer: {draft}"
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]


async def critique_and_revise(
    backend: ChatBackend,
    messages: list[ChatMessage],
    *,
    rounds: int,
    notes: str,
    grounding: Grounding,
    max_tokens: int,
    critique_tokens: int,
    temperature: float,
) -> CritiqueResult:
    """The answer after up to `rounds` critique rounds (stops early when the critic says OK)."""
    question = next((m["content"] for m in reversed(messages) if m["role"] == "user"), "")
    draft, tokens = await collect(
        backend.stream(messages, max_tokens=max_tokens, temperature=temperature)
    )
    result = CritiqueResult(draft, tokens=tokens)
    score = await asyncio.to_thread(grounding, draft)
    for _ in range(rounds):
        critique, used = await collect(
            backend.stream(
                critic_messages(question, result.answer, notes),
                max_tokens=critique_tokens,
                temperature=0.0,
            )
        )
        result.tokens += used
        result.critiques.append(critique)
        if not critique or critique.strip(" .!").upper() == "OK":
            break
        revise = [
            *messages,
            {"role": "assistant", "content": result.answer},
            {"role": "user", "content": REVISE_PROMPT.format(critique=critique)},
        ]
        revision, used = await collect(
            backend.stream(revise, max_tokens=max_tokens, temperature=temperature)
        )
        result.tokens += used
        revised_score = await asyncio.to_thread(grounding, revision)
        if revision and (score is None or (revised_score or 0.0) >= score):
            result.answer, score = revision, revised_score
            result.revisions_kept += 1
    return result
