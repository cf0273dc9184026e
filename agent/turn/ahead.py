"""Work the turn does before the learner's question commits, all of it optional.

On a provisional transcript: preview the curriculum's reply and speak its opening clause,
or begin the model's answer (a speculation the committed turn may adopt), or only read the
prompt into the model's cache. After an answer: read the next prompt's start. Only the
model's cache changes; if the committed turn differs, nothing spoken is wrong, only slower.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine
from contextlib import suppress
from typing import Any

from loguru import logger
from pipecat.processors.aggregators.llm_context import LLMContext

from agent.backends.base import (
    ChatBackend,
    ChatMessage,
    ConversationReadingBackend,
    PrefillingBackend,
    turn_pieces,
)
from agent.turn.compute import TurnCompute, TurnPlan
from agent.turn.prompt import SessionPrompts, reply_instruction
from agent.turn.speculation import AnswerSpeculationCounts, SpeculativeAnswer
from agent.tutoring.state import TutorState
from planner.observations import last_user_text
from planner.tutor_planner import QUESTION_ACTION

TaskStarter = Callable[[Coroutine[Any, Any, None], str], asyncio.Task]


def _brief(messages: list[ChatMessage], at: int) -> str:
    """A message for the log: its role and the start of its text."""
    if at >= len(messages):
        return "(none)"
    return f"{messages[at]['role']}: {messages[at]['content'][:60]}"


class TurnAhead:
    """The read-ahead and speculation of one session's LLM service (agent/turn/service.py),
    which tells it what the learner said so far and what the last turn became."""

    def __init__(
        self,
        backend: ChatBackend,
        *,
        prompts: SessionPrompts,
        system_prompt: Callable[[], str],
        start_task: TaskStarter,
        speak: Callable[[str], Awaitable[None]],
        compute: TurnCompute | None = None,
        tutor_state: TutorState | None = None,
        opening_clause: Callable[[str], str | None] | None = None,
        max_tokens: int = 128,
        temperature: float = 0.3,
        enabled: bool = True,
    ) -> None:
        self._backend = backend
        self._prompts = prompts
        self._system_prompt = system_prompt
        self._start_task = start_task
        self._speak = speak
        self._compute = compute
        self._tutor_state = tutor_state
        self._opening_clause = opening_clause
        self._max_tokens, self._temperature = max_tokens, temperature
        self._enabled = enabled
        self._speculation: SpeculativeAnswer | None = None
        self._reading_ahead: asyncio.Task | None = None
        self._reading_conversation: asyncio.Task | None = None
        self.speculations = AnswerSpeculationCounts()
        self.context: LLMContext | None = None  # the session's, seen at the last turn
        self.answered: list[Any] | None = None  # the context once the last answer is in
        self.last_grounded = False  # the last turn was the curriculum's, not the model's

    def on_provisional(self, text: str, action: str | None = None) -> None:
        """Act on a provisional transcript (speech/frames.py) before the turn commits."""
        if not self._enabled or not isinstance(self._backend, PrefillingBackend):
            return
        if self._reading_ahead is not None and not self._reading_ahead.done():
            self._reading_ahead.cancel()
        if self._compute is not None:
            job, name = self._ahead_of_turn(text, action), "turn-ahead"
        elif self._opening_clause is not None:
            job, name = self._speculate(text, action), "speculate"
        else:
            job, name = self._prefill(text, action), "read-ahead"
        self._reading_ahead = self._start_task(job, name)

    async def _ahead_of_turn(self, text: str, action: str | None) -> None:
        """The turn previewed on a provisional question: one the curriculum answers needs
        no model, and its opening clause goes to the TTS now; any other begins the model's
        answer (or reads its prompt) under the action the planner's preview gives."""
        try:
            assert self._compute is not None and self._tutor_state is not None
            preview = await self._compute.teach(self._tutor_state, text, preview=True)
        except Exception as exc:  # an optimisation: failing loses nothing
            logger.warning("previewing the turn failed: {}", exc)
            preview = None
        if preview is not None and preview.text is not None:  # grounded: no model
            await self.drop()
            if self._opening_clause is not None:
                await self._speak(self._opening_clause(preview.text) or preview.text)
            return
        if preview is not None and preview.decision is not None:
            action = preview.decision.action  # what the committed turn will be told
        if self._opening_clause is not None:
            await self._speculate(text, action)
        else:
            await self._prefill(text, action)

    def on_answered(self, action: str | None = None) -> None:
        """Once the tutor has answered, read the start of the next prompt before the learner
        asks: the conversation so far under this topic's notes and under none, each also
        followed by the planner's likely `action` once it is known. The next turn then reads
        only its question, or its instruction and question. Skipped once an answer is being read
        or begun ahead, and after a turn cut short (its prompt is not known)."""
        if not isinstance(self._backend, ConversationReadingBackend):
            return
        if not self._enabled or self.answered is None or self.last_grounded:
            return  # the curriculum answers most turns: the model idles then
        prefixes = []
        systems = [self._prompts.system or "", self._system_prompt()]
        for system in dict.fromkeys(systems):
            if system and (start := self._prompts.upcoming(system, self.answered)):
                prefixes.append(start)
                if action:
                    instruction = {"role": "system", "content": reply_instruction(action)}
                    prefixes.append([*start, instruction])
        if prefixes:
            job = self._read_conversations(prefixes, self._reading_conversation)
            self._reading_conversation = self._start_task(job, "read-conversation")

    async def _read_conversations(
        self, prefixes: list[list[ChatMessage]], before: asyncio.Task | None
    ) -> None:
        assert isinstance(self._backend, ConversationReadingBackend)
        try:
            if before is not None:
                await before  # one read at a time; what it saved is not read again
            for prefix in prefixes:
                if self._reading_ahead is not None and not self._reading_ahead.done():
                    return  # the learner is done: their turn's own read comes first
                tokens = await self._backend.read_conversation(prefix)
                logger.debug("LLM read {} conversation tokens ahead of the next turn", tokens)
        except Exception as exc:  # an optimisation: failing loses nothing
            logger.warning("reading the conversation ahead failed: {}", exc)

    async def _provisional_messages(self, text: str, action: str | None) -> list[ChatMessage]:
        """The prompt a turn on this transcript would send, with the planner's action for it
        (without a planner, a question's usual action)."""
        system = self._system_prompt()
        if self._compute is not None:
            system += await self._compute.notes_for(text)
        history = list(self.context.get_messages()) if self.context is not None else []
        asked = last_user_text(history[-1:]).strip()  # "" unless the last message is the learner's
        if asked and asked == text.strip():
            # The provisional frame came just before the commit, and the user aggregator has
            # already added the question to the shared context: it is not asked twice.
            history.pop()
        question = {"role": "user", "content": text}
        instruction = reply_instruction(QUESTION_ACTION if action is None else action)
        return self._prompts.preview(system, [*history, question], instruction)

    async def _prefill(self, text: str, action: str | None) -> None:
        assert isinstance(self._backend, PrefillingBackend)
        try:
            read = await self._backend.prefill(await self._provisional_messages(text, action))
            logger.debug("LLM read {} prompt tokens ahead of the turn", read)
        except Exception as exc:  # reading ahead is an optimisation: failing loses nothing
            logger.warning("reading the prompt ahead failed: {}", exc)

    async def _speculate(self, text: str, action: str | None) -> None:
        await self.drop()
        try:
            messages = await self._provisional_messages(text, action)
            stream = turn_pieces(self._backend, messages, max_tokens=self._max_tokens,
                                 temperature=self._temperature)  # fmt: skip
            assert self._opening_clause is not None
            self._speculation = SpeculativeAnswer(
                messages, stream, self._opening_clause, self._speak
            )
            self.speculations.started += 1
        except Exception as exc:  # an optimisation: failing loses nothing
            logger.warning("beginning the answer ahead failed: {}", exc)

    async def drop(self) -> None:
        """Discard the answer begun ahead, if any (the learner went on, or it is not used)."""
        speculation, self._speculation = self._speculation, None
        if speculation is not None:
            self.speculations.discarded += 1
            await speculation.discard()

    async def claim(
        self, messages: list[ChatMessage], plan: TurnPlan | None
    ) -> SpeculativeAnswer | None:
        """The speculation begun for exactly this turn, if any; any other is discarded."""
        if self._opening_clause is not None and self._reading_ahead is not None:
            with suppress(Exception):  # it only opens a stream: at most a search's wait
                await asyncio.wait_for(asyncio.shield(self._reading_ahead), 1.0)
        speculation = self._speculation
        plain = plan is None or (not plan.decision.deliberates and plan.decision.tier == "embedded")
        if (
            speculation is None or not plain or not speculation.usable
            or speculation.messages != messages
        ):  # fmt: skip
            if speculation is not None:
                pairs = zip(speculation.messages, messages, strict=False)
                at = next((i for i, (a, b) in enumerate(pairs) if a != b), len(messages))
                logger.debug("answer begun ahead discarded: plain plan {}, usable {}, prompt "
                             "differs at message {} of {}: {!r} vs {!r}", plain,
                             speculation.usable, at, len(messages),
                             _brief(speculation.messages, at), _brief(messages, at))  # fmt: skip
            await self.drop()
            return None
        self._speculation = None
        self.speculations.adopted += 1
        logger.debug("answer begun ahead adopted ({} pieces written)", len(speculation.pieces))
        return speculation
