"""The Pipecat LLM service that answers each learner turn through a ChatBackend."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import aclosing, suppress
from functools import partial
from typing import Any

from loguru import logger
from pipecat.frames.frames import (
    CancelFrame,
    EndFrame,
    Frame,
    InterruptionFrame,
    LLMContextFrame,
    LLMFullResponseEndFrame,
    LLMFullResponseStartFrame,
    UserStartedSpeakingFrame,
)
from pipecat.processors.aggregators.llm_context import LLMContext
from pipecat.processors.frame_processor import FrameDirection
from pipecat.services.llm_service import LLMService
from pipecat.services.settings import LLMSettings as PipecatLLMSettings

from agent.controller.turn_compute import TurnCompute, TurnPlan
from agent.faults import FaultInjected
from agent.frames import CitationsFrame, ControllerDecisionFrame, TeachingFrame, ThinkingFrame
from agent.llm.backend import ChatBackend, ChatMessage, turn_pieces
from agent.llm.critique import critique_and_revise
from agent.llm.gate import gated
from agent.llm.prompt import HistoryLimits, SessionPrompts, reply_instruction
from agent.llm.speculation import SpeculationCounts, SpeculativeAnswer
from agent.llm.thinking import Piece
from agent.retrieval.grounding import grounding_or_none
from agent.tutoring.state import TutorState
from planner.agent import PROMPT_HINTS, QUESTION_ACTION, Decision
from planner.frames import LikelyHintFrame, PlanActionFrame
from planner.observations import last_user_text
from speech.first_audio import FirstAudioGate
from speech.frames import FallbackFrame, ProvisionalTranscriptFrame, SpeculativeClauseFrame

LLM_FALLBACK_LINE = "Sorry, I lost my train of thought. Could you ask me that again?"


async def _never() -> AsyncIterator[Piece]:
    """An LLM stream that hangs (the injected timeout)."""
    await asyncio.Event().wait()
    yield Piece("")


async def _one(text: str, tokens: int = 1) -> AsyncIterator[Piece]:
    yield Piece(text, tokens=tokens)


# Facts for a learner's words within the turn's budget (tools/mcp_client.TurnToolbox).
ContextProvider = Callable[[str], Awaitable[list[str]]]


def plan_frame(decision: Decision) -> PlanActionFrame:
    """The planner's decision as the frame the avatar (gesture) and the page show."""
    return PlanActionFrame(
        action=decision.action,
        gesture=decision.gesture,
        prompt_hint=decision.prompt_hint,
        probabilities=decision.action_probabilities,
        beliefs=decision.beliefs,
    )


def _brief(messages: list[ChatMessage], at: int) -> str:
    """A message for the log: its role and the start of its text."""
    if at >= len(messages):
        return "(none)"
    return f"{messages[at]['role']}: {messages[at]['content'][:60]}"


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
        compute: TurnCompute | None = None,
        session_id: str = "",
        critique_tokens: int = 48,
        first_audio: FirstAudioGate | None = None,
        read_provisional: bool = True,
        history: HistoryLimits | None = None,
        opening_clause: Callable[[str], str | None] | None = None,
        tutor_state: TutorState | None = None,
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
        self._compute = compute
        self._session_id = session_id
        self._critique_tokens = critique_tokens
        self._first_audio = first_audio
        self._read_provisional = read_provisional
        self._prompts = SessionPrompts(history)  # what earlier turns were sent
        # With the TTS's clause rule, answers are begun on the provisional transcript.
        self._opening_clause = opening_clause
        self._speculation: SpeculativeAnswer | None = None
        self.speculations = SpeculationCounts()
        self._context: LLMContext | None = None  # the session's, seen at the last turn
        self._reading_ahead: asyncio.Task | None = None
        self._reading_conversation: asyncio.Task | None = None
        self._answered: list[Any] | None = None  # the context once the last answer is in
        # The concept, what was said of it and the planner's lesson (shared with the
        # pipeline's TutorPlannerProcessor, which feeds it the learner's signals).
        self.tutor_state = tutor_state or TutorState()
        self._last_grounded = False  # the last turn was the curriculum's, not the model's

    async def _open_stream(
        self, messages: list[ChatMessage], plan: TurnPlan | None
    ) -> AsyncIterator[Piece]:
        """The reply's pieces as the plan asks: plain, thinking first, or critiqued; or the
        speculative answer begun for exactly this prompt."""
        if plan is not None and plan.grounded:  # the curriculum's own words: no model
            await self._drop_speculation()
            assert plan.reply is not None and plan.reply.text is not None
            return _one(plan.reply.text, tokens=0)
        if plan is not None and plan.checked:
            await self._drop_speculation()  # a checked answer: nothing unchecked is adopted
        speculation = await self._claim_speculation(messages, plan)
        if self._fault("llm_error"):
            if speculation is not None:
                await speculation.discard()
            raise FaultInjected("injected LLM failure")
        if self._fault("llm_timeout"):
            if speculation is not None:
                await speculation.discard()
            return _never()
        if speculation is not None:
            return speculation.adopt()
        # The embedded tier is this session's own backend (a learner's personal model, say).
        backend = plan.backend if plan and plan.decision.tier != "embedded" else self._backend
        max_tokens, temperature = self._settings.max_tokens, self._settings.temperature
        if plan is not None and plan.decision.critique_rounds > 0:
            result = await critique_and_revise(
                backend, messages, rounds=plan.decision.critique_rounds,
                notes=" ".join(plan.notes), grounding=partial(grounding_or_none, plan.notes),
                max_tokens=max_tokens, critique_tokens=self._critique_tokens,
                temperature=temperature,
            )  # fmt: skip
            return _one(result.answer, result.tokens)
        think = plan.decision.think_tokens if plan else 0
        pieces = turn_pieces(
            backend, messages, max_tokens=max_tokens, temperature=temperature, think_tokens=think
        )
        if plan is not None and plan.checked:
            assert plan.reply is not None
            return gated(pieces, list(plan.reply.notes))  # only what the facets support
        return pieces

    async def _prepare(self, question: str) -> TurnPlan | None:
        """The curriculum's reply, retrieval and the controller's decision, told to the
        client before answering."""
        if self._compute is None:
            return None
        reply = await self._compute.teach(self.tutor_state, question)
        plan = await self._compute.prepare(self._session_id, question, reply)
        if reply is not None and reply.decision is not None:
            await self.push_frame(plan_frame(reply.decision))  # the gesture, the page
            if not reply.grounded:  # the planner's action steers what the model writes
                self._turn_hint = reply.decision.prompt_hint
        if reply is not None and reply.mode != "model":
            await self.push_frame(TeachingFrame(teaching=reply.as_fields()))
        if plan.report is not None:
            await self.push_frame(ControllerDecisionFrame(report=plan.report.as_event_fields()))
        if plan.hits:
            await self.push_frame(CitationsFrame(citations=plan.citations()))
        return plan

    def _read_ahead(self, text: str, hint: str | None = None) -> None:
        """Act on a provisional transcript (speech/frames.py) before the turn commits: begin
        the answer (agent/llm/speculation.py) or, without a clause rule, only read its
        prompt. Only the model's KV cache changes: if the committed transcript (or the
        planner's hint) differs, llama.cpp keeps the common prefix and reads the rest."""
        prefill = getattr(self._backend, "prefill", None)
        if not self._read_provisional or prefill is None:
            return
        if self._reading_ahead is not None and not self._reading_ahead.done():
            self._reading_ahead.cancel()
        if self._compute is not None:
            job = self._ahead_of_turn(text, hint, prefill)
            self._reading_ahead = self.create_task(job, name="turn-ahead")
        elif self._opening_clause is not None:
            job = self._speculate(text, hint)
            self._reading_ahead = self.create_task(job, name="speculate")
        else:
            job = self._prefill(prefill, text, hint)
            self._reading_ahead = self.create_task(job, name="read-ahead")

    async def _ahead_of_turn(self, text: str, hint: str | None, prefill) -> None:
        """The turn previewed on a provisional question: one the curriculum answers needs
        no model, and its opening clause goes to the TTS now; any other begins the model's
        answer (or reads its prompt) under the hint the planner's preview gives."""
        try:
            assert self._compute is not None
            preview = await self._compute.teach(self.tutor_state, text, preview=True)
        except Exception as exc:  # an optimisation: failing loses nothing
            logger.warning("previewing the turn failed: {}", exc)
            preview = None
        if preview is not None and preview.text is not None:  # grounded: no model
            await self._drop_speculation()
            if self._opening_clause is not None:
                await self._speak_ahead(self._opening_clause(preview.text) or preview.text)
            return
        if preview is not None and preview.decision is not None:
            hint = preview.decision.prompt_hint  # what the committed turn will be told
        if self._opening_clause is not None:
            await self._speculate(text, hint)
        else:
            await self._prefill(prefill, text, hint)

    def _read_conversation_ahead(self, hint: str | None = None) -> None:
        """Once the tutor has answered, read the start of the next prompt before the learner
        asks: the conversation so far under this topic's notes and under none, each also
        followed by the planner's likely `hint` once it is known. The next turn then reads
        only its question, or its hint and question. Skipped once an answer is being read
        or begun ahead, and after a turn cut short (its prompt is not known)."""
        read = getattr(self._backend, "read_conversation", None)
        if read is None or not self._read_provisional or self._answered is None:
            return
        if self._last_grounded:  # the curriculum answers most turns: the model idles
            return
        prefixes = []
        for system in dict.fromkeys([self._prompts.system or "", self._system_prompt]):
            if system and (start := self._prompts.upcoming(system, self._answered)):
                prefixes.append(start)
                if hint:
                    instruction = {"role": "system", "content": reply_instruction(hint)}
                    prefixes.append([*start, instruction])
        if prefixes:
            job = self._read_conversations(read, prefixes, self._reading_conversation)
            self._reading_conversation = self.create_task(job, name="read-conversation")

    async def _read_conversations(
        self, read, prefixes: list[list[ChatMessage]], before: asyncio.Task | None
    ) -> None:
        try:
            if before is not None:
                await before  # one read at a time; what it saved is not read again
            for prefix in prefixes:
                if self._reading_ahead is not None and not self._reading_ahead.done():
                    return  # the learner is done: their turn's own read comes first
                tokens = await read(prefix)
                logger.debug("LLM read {} conversation tokens ahead of the next turn", tokens)
        except Exception as exc:  # an optimisation: failing loses nothing
            logger.warning("reading the conversation ahead failed: {}", exc)

    async def _provisional_messages(self, text: str, hint: str | None) -> list[ChatMessage]:
        """The prompt a turn on this transcript would send, with the planner's hint for it
        (without a planner, a question's usual hint)."""
        system = self._system_prompt
        if self._compute is not None:
            system += await self._compute.notes_for(text)
        history = list(self._context.get_messages()) if self._context is not None else []
        asked = last_user_text(history[-1:]).strip()  # "" unless the last message is the learner's
        if asked and asked == text.strip():
            # The provisional frame came just before the commit, and the user aggregator has
            # already added the question to the shared context: it is not asked twice.
            history.pop()
        question = {"role": "user", "content": text}
        instruction = reply_instruction(PROMPT_HINTS[QUESTION_ACTION] if hint is None else hint)
        return self._prompts.preview(system, [*history, question], instruction)

    async def _prefill(self, prefill, text: str, hint: str | None) -> None:
        try:
            read = await prefill(await self._provisional_messages(text, hint))
            logger.debug("LLM read {} prompt tokens ahead of the turn", read)
        except Exception as exc:  # reading ahead is an optimisation: failing loses nothing
            logger.warning("reading the prompt ahead failed: {}", exc)

    async def _speculate(self, text: str, hint: str | None) -> None:
        await self._drop_speculation()
        try:
            messages = await self._provisional_messages(text, hint)
            stream = turn_pieces(self._backend, messages, max_tokens=self._settings.max_tokens,
                                 temperature=self._settings.temperature)  # fmt: skip
            assert self._opening_clause is not None
            self._speculation = SpeculativeAnswer(
                messages, stream, self._opening_clause, self._speak_ahead
            )
            self.speculations.started += 1
        except Exception as exc:  # an optimisation: failing loses nothing
            logger.warning("beginning the answer ahead failed: {}", exc)

    async def _speak_ahead(self, clause: str) -> None:
        """Let the TTS synthesize the speculative opening clause (it speaks it only if the
        committed answer opens with the same clause)."""
        await self.push_frame(SpeculativeClauseFrame(text=clause))

    async def _drop_speculation(self) -> None:
        speculation, self._speculation = self._speculation, None
        if speculation is not None:
            self.speculations.discarded += 1
            await speculation.discard()

    async def _claim_speculation(
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
            await self._drop_speculation()
            return None
        self._speculation = None
        self.speculations.adopted += 1
        logger.debug("answer begun ahead adopted ({} pieces written)", len(speculation.pieces))
        return speculation

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
        if isinstance(frame, PlanActionFrame):  # a plan from upstream (without a TurnCompute)
            self._turn_hint = frame.prompt_hint
        if isinstance(frame, ProvisionalTranscriptFrame):
            self._read_ahead(frame.text, frame.prompt_hint)
            return
        if isinstance(frame, (UserStartedSpeakingFrame, InterruptionFrame, CancelFrame, EndFrame)):
            await self._drop_speculation()  # the learner goes on: that answer is void
        if isinstance(frame, LikelyHintFrame):
            self._read_conversation_ahead(frame.prompt_hint)
            return
        if not isinstance(frame, LLMContextFrame):
            await self.push_frame(frame, direction)
            return
        self._context = frame.context
        self._answered = None
        question = last_user_text(frame.context.get_messages())
        system, instructions = self._system_prompt, []
        if self._context_provider is not None:
            facts = await self._context_provider(question)
            if facts:
                logger.info("tool facts for this turn: {}", facts)
                instructions.append("Facts you may use (from tools): " + " ".join(facts))
        started = time.perf_counter()
        plan = await self._prepare(question)
        logger.debug("turn prepared in {:.0f} ms", (time.perf_counter() - started) * 1000)
        self._last_grounded = plan is not None and plan.grounded
        if plan is not None:
            system += plan.system_addendum()
        if self._turn_hint:
            instructions.append(reply_instruction(self._turn_hint))
            self._turn_hint = ""
        turn_instructions = "\n".join(instructions)
        messages = self._prompts.commit(system, frame.context.get_messages(), turn_instructions)
        await self.push_frame(LLMFullResponseStartFrame())
        await self.start_processing_metrics()
        await self.start_ttfb_metrics()
        spoke, answer, self._turn_tokens = False, [], 0
        finished = False  # the whole answer was written (not cut short by a barge-in)
        try:
            stream = await self._open_stream(messages, plan)
            # aclosing: a barge-in cancels this task, and the backend must stop generating
            # now, not whenever the abandoned generator is garbage-collected.
            async with aclosing(stream):
                pieces = aiter(stream)
                piece = await asyncio.wait_for(anext(pieces, None), self._first_token_timeout_s)
                while piece is not None:
                    self._turn_tokens += piece.tokens
                    if piece.thinking:
                        await self.push_frame(ThinkingFrame(text=piece.text))
                    elif piece.text:
                        if not spoke:
                            await self.stop_ttfb_metrics()
                        await self._push_llm_text(piece.text)
                        answer.append(piece.text)
                        spoke = True
                    if self._first_audio is not None:
                        await self._first_audio.wait()  # Piper speaks the first clause first
                    piece = await anext(pieces, None)
                finished = True
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
            if spoke and finished:  # the conversation the next turn continues
                said = {"role": "assistant", "content": "".join(answer)}
                self._answered = [*frame.context.get_messages(), said]
                self._read_conversation_ahead()
            if plan is not None and self._compute is not None:
                self._compute.finish(self._session_id, plan, "".join(answer), self._turn_tokens)
