"""The tutor's brain without audio, for MCP's `ask`: the same turn as a live session.

The same planner, curriculum turn and TurnCompute (retrieval, controller, tiers), the
same backend and the same Piper alignments as a live turn, so an agent asking through MCP
gets the answer, its concept and citations, the action the tutor took and what its face
would do.
"""

from __future__ import annotations

import asyncio
from collections import Counter, OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from agent.backends.base import ChatBackend, ChatMessage
from agent.backends.factory import create_backend
from agent.config import Settings
from agent.turn.assembly import HostCompute
from agent.turn.compute import TurnCompute, TurnPlan
from agent.turn.prompt import reply_instruction
from agent.tutoring.state import TutorState
from agent.tutoring.support import supported_answer
from avatar.visemes import viseme_segments
from speech.assets import piper_voice_file
from speech.tts import shared_piper_voice

MAX_QUESTION_CHARS = 2000


@dataclass
class Conversation:
    persona: str
    history: list[ChatMessage] = field(default_factory=list)
    state: TutorState = field(default_factory=TutorState)  # the lesson, the planner's beliefs


def motion_summary(text: str, voice) -> dict[str, Any]:
    """What the avatar's face would do saying `text`: duration and the visemes it shows."""
    segments = []
    offset = 0.0
    for chunk in voice.synthesize(text, include_alignments=True):
        pairs = [(a.phoneme, int(a.num_samples)) for a in chunk.phoneme_alignments or []]
        segments += viseme_segments(pairs, chunk.sample_rate, offset_s=offset)
        offset += len(chunk.audio_int16_array) / chunk.sample_rate
    spoken = [s.viseme for s in segments if s.viseme != "sil"]
    return {
        "duration_s": round(offset, 2),
        "viseme_changes": len(segments),
        "visemes": dict(Counter(spoken).most_common()),
        "stressed_syllables": sum(s.stressed for s in segments),
    }


def checked_text(text: str, what: str) -> str:
    """`text` if it is text a model can read, else ValueError: a lone surrogate ("\\ud800"
    in JSON) decodes into a str no tokenizer accepts."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError(f"{what} is not valid Unicode text ({exc.reason})") from None
    return text


def checked_persona(persona: str, limit: int) -> str:
    """The persona stripped, or ValueError when it is empty, longer than `limit` or not
    valid text."""
    persona = checked_text(persona, "persona").strip()
    if not persona:
        raise ValueError("persona is empty")
    if len(persona) > limit:
        raise ValueError(f"persona of {len(persona)} characters is over the limit of {limit}")
    return persona


class TextTutor:
    """Answers typed questions per conversation id, as the live tutor would speak them."""

    def __init__(
        self,
        settings: Settings,
        backend: ChatBackend | None = None,
        compute: Callable[[], TurnCompute] | None = None,
    ) -> None:
        """compute: the host's TurnCompute (shared with live sessions when in the server)."""
        self._settings = settings
        self._backend = backend or create_backend(settings.llm)
        self._compute = compute or HostCompute(settings, lambda: 1)
        # Least recently used first: a client inventing ids cannot grow this without bound.
        self._conversations: OrderedDict[str, Conversation] = OrderedDict()

    def conversation(self, conversation_id: str) -> Conversation:
        if conversation_id in self._conversations:
            self._conversations.move_to_end(conversation_id)
            return self._conversations[conversation_id]
        talk = Conversation(self._settings.llm.system_prompt)
        self._conversations[conversation_id] = talk
        while len(self._conversations) > self._settings.server.max_conversations:
            self._conversations.popitem(last=False)
        return talk

    @property
    def max_persona_chars(self) -> int:
        return self._settings.server.max_persona_chars

    @property
    def conversation_count(self) -> int:
        return len(self._conversations)

    def set_persona(self, conversation_id: str, persona: str) -> None:
        self.conversation(conversation_id).persona = checked_persona(
            persona, self._settings.server.max_persona_chars
        )

    async def ask(
        self, question: str, conversation_id: str = "default", *, motion: bool = True
    ) -> dict[str, Any]:
        """The tutor's reply; motion=False skips the face summary (benchmarks)."""
        question = checked_text(question, "question").strip()
        if not question:
            raise ValueError("question is empty")
        if len(question) > MAX_QUESTION_CHARS:
            raise ValueError(f"question is longer than {MAX_QUESTION_CHARS} characters")
        talk = self.conversation(conversation_id)
        compute = await asyncio.to_thread(self._compute)  # the first call loads the index
        proposed = await compute.teach(talk.state, question)
        assert proposed is not None and proposed.decision is not None  # the question is not empty
        decision = proposed.decision
        plan = await compute.prepare(conversation_id, question, proposed)
        reply = plan.reply or proposed  # as the controller decided
        talk.history.append({"role": "user", "content": question})
        if plan.grounded:
            answer = reply.text or ""
        else:
            answer = await self._written(talk, plan, decision.action)
            compute.finish(conversation_id, plan, answer, len(answer.split()))
        talk.history.append({"role": "assistant", "content": answer})
        face: dict[str, Any] = {}
        if motion and answer:
            voice = shared_piper_voice(piper_voice_file(self._settings.tts.voice_path))
            face = await asyncio.to_thread(motion_summary, answer, voice)
        teaching = reply.as_fields() | {"mode": "llm" if reply.mode == "model" else reply.mode}
        return {
            "answer": answer,
            "action": decision.action,
            "gesture": decision.gesture,
            "beliefs": decision.beliefs,
            "citations": plan.citations(),
            "source": plan.source,
            **teaching,
            "motion": face,
        }

    async def _written(self, talk: Conversation, plan: TurnPlan, action: str) -> str:
        """A reply the model writes (no curriculum, a what-if, the remote tier), grounded in
        the plan's notes; with a curriculum, sentences the notes do not support are cut."""
        system = f"{talk.persona}{plan.system_addendum()}\n{reply_instruction(action)}"
        messages: list[ChatMessage] = [{"role": "system", "content": system}, *talk.history[-8:]]
        backend = plan.backend if plan.decision.tier != "embedded" else self._backend
        pieces = [
            piece
            async for piece in backend.stream(
                messages,
                max_tokens=self._settings.llm.max_tokens,
                temperature=self._settings.llm.temperature,
            )
        ]
        answer = "".join(pieces).strip()
        if plan.checked:
            assert plan.reply is not None
            answer = await asyncio.to_thread(supported_answer, answer, list(plan.reply.notes))
        return answer

    def transcript(self, conversation_id: str) -> list[ChatMessage]:
        """The conversation so far; reading an unknown id creates nothing."""
        talk = self._conversations.get(conversation_id)
        return list(talk.history) if talk is not None else []
