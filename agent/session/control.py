"""Reach into a live session: what it said, what it believes, and make it speak.

Used by the MCP tools; finds the session's processors by type in its pipeline.
"""

from __future__ import annotations

import time
from dataclasses import asdict
from typing import Any, TypeVar

from pipecat.frames.frames import TTSSpeakFrame
from pipecat.processors.aggregators.llm_response_universal import LLMUserAggregator
from pipecat.processors.frame_processor import FrameProcessor

from agent.session.manager import Session
from agent.session.text_tutor import checked_persona
from agent.turn.service import TutorLLMService
from planner.observations import text_of
from planner.processor import TutorPlannerProcessor

P = TypeVar("P", bound=FrameProcessor)
MAX_SPEAK_CHARS = 1000
WORDS_PER_SECOND = 2.5


def find_processor(session: Session, kind: type[P]) -> P | None:
    """The first processor of this type anywhere in the session's pipeline."""
    pending = list(session.worker.pipeline.processors)
    while pending:
        processor = pending.pop(0)
        if isinstance(processor, kind):
            return processor
        pending.extend(getattr(processor, "processors", []) or [])
    return None


def transcript(session: Session) -> list[dict[str, str]]:
    aggregator = find_processor(session, LLMUserAggregator)
    if aggregator is None:
        return []
    lines = []
    for message in aggregator.context.get_messages():
        if isinstance(message, dict) and message.get("role") in ("user", "assistant"):
            lines.append({"role": message["role"], "text": text_of(message.get("content"))})
    return lines


def state(session: Session) -> dict[str, Any]:
    planner = find_processor(session, TutorPlannerProcessor)
    beliefs, decision = {}, None
    if planner is not None:
        beliefs = planner.beliefs()
        decision = planner.last_decision
    return {
        "session_id": session.id,
        "transcript": transcript(session),
        "beliefs": beliefs,
        "last_action": decision,
        "turns": [asdict(record) for record in session.turns[-10:]],
    }


def spoken_seconds(text: str) -> float:
    """About how long `text` takes to say (a tutor speaks about 2.5 words a second)."""
    return max(1.0, len(text.split()) / WORDS_PER_SECOND)


async def speak(
    session: Session, text: str, max_queued_s: float = 60.0, clock=time.monotonic
) -> None:
    """Queue `text` for the session's avatar to say; refused while more than
    `max_queued_s` of speech is already waiting, so a caller cannot grow the queue."""
    text = text.strip()
    if not text:
        raise ValueError("nothing to say: text is empty")
    if len(text) > MAX_SPEAK_CHARS:
        raise ValueError(f"text is longer than {MAX_SPEAK_CHARS} characters")
    now = clock()
    start = max(now, session.speech_until)
    if start + spoken_seconds(text) - now > max_queued_s:
        raise ValueError(
            f"session {session.id} already has {start - now:.0f} s of speech waiting "
            f"(at most {max_queued_s:.0f} s); try again once it has been said"
        )
    session.speech_until = start + spoken_seconds(text)
    await session.worker.queue_frame(TTSSpeakFrame(text))


def set_persona(session: Session, persona: str, limit: int) -> None:
    persona = checked_persona(persona, limit)
    llm = find_processor(session, TutorLLMService)
    if llm is None:
        raise ValueError(f"session {session.id} has no tutor LLM to take a persona")
    llm.set_system_prompt(persona)
