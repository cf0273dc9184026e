"""The Pipecat LLM service that answers each learner turn through a ChatBackend."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import aclosing
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
    VADUserStartedSpeakingFrame,
)
from pipecat.processors.aggregators.llm_context import LLMContext
from pipecat.processors.frame_processor import FrameDirection
from pipecat.services.llm_service import LLMService
from pipecat.services.settings import LLMSettings as PipecatLLMSettings

from agent.backends.base import (
    ChatBackend,
    ChatMessage,
    turn_pieces,
)
from agent.backends.thinking import Piece
from agent.config.prompts import TOOL_FACTS_HEADER
from agent.retrieval.grounding import grounding_or_none
from agent.turn.ahead import TurnAhead
from agent.turn.compute import TurnCompute, TurnPlan
from agent.turn.continuation import ContinuationWatch, with_question
from agent.turn.critique import critique_and_revise
from agent.turn.faults import FaultInjected
from agent.turn.frames import (
    CitationsFrame,
    ContinuedTurnFrame,
    ControllerDecisionFrame,
    TeachingFrame,
    ThinkingFrame,
)
from agent.turn.gate import gated
from agent.turn.prompt import HistoryLimits, SessionPrompts, reply_instruction
from agent.turn.speculation import AnswerSpeculationCounts
from agent.tutoring.state import TutorState
from planner.frames import LikelyActionFrame, PlanActionFrame
from planner.observations import last_user_text
from planner.tutor_planner import PlanDecision
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


def plan_frame(decision: PlanDecision) -> PlanActionFrame:
    """The planner's decision as the frame the avatar (gesture) and the page show."""
    return PlanActionFrame(
        action=decision.action,
        gesture=decision.gesture,
        probabilities=decision.action_probabilities,
        beliefs=decision.beliefs,
    )


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
        continuation: ContinuationWatch | None = None,
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
        self._turn_action = ""
        self._context_provider = context_provider
        self._first_token_timeout_s = first_token_timeout_s
        self._fault = fault or (lambda _kind: False)
        self._compute = compute
        self._session_id = session_id
        self._critique_tokens = critique_tokens
        self._first_audio = first_audio
        self._prompts = SessionPrompts(history)  # what earlier turns were sent
        # A learner going on right after a commit: their words finish the last question.
        self.continuation = continuation or ContinuationWatch()
        # The concept, what was said of it and the planner's lesson (shared with the
        # pipeline's TutorPlannerProcessor, which feeds it the learner's signals).
        self.tutor_state = tutor_state or TutorState()
        self._ahead = TurnAhead(
            backend, prompts=self._prompts, system_prompt=lambda: self._system_prompt,
            start_task=lambda job, name: self.create_task(job, name=name),
            speak=self._speak_ahead, compute=compute, tutor_state=self.tutor_state,
            opening_clause=opening_clause, max_tokens=max_tokens, temperature=temperature,
            enabled=read_provisional,
        )  # fmt: skip

    async def _open_stream(
        self, messages: list[ChatMessage], plan: TurnPlan | None
    ) -> AsyncIterator[Piece]:
        """The reply's pieces as the plan asks: plain, thinking first, or critiqued; or the
        speculative answer begun for exactly this prompt."""
        if plan is not None and plan.grounded:  # the curriculum's own words: no model
            await self._ahead.drop()
            assert plan.reply is not None and plan.reply.text is not None
            return _one(plan.reply.text, tokens=0)
        if plan is not None and plan.checked:
            await self._ahead.drop()  # a checked answer: nothing unchecked is adopted
        speculation = await self._ahead.claim(messages, plan)
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
        proposed = await self._compute.teach(self.tutor_state, question)
        plan = await self._compute.prepare(self._session_id, question, proposed)
        reply = plan.reply  # as the controller decided: the curriculum's words or a model's
        if reply is not None and reply.decision is not None:
            await self.push_frame(plan_frame(reply.decision))  # the gesture, the page
            if not reply.grounded:  # the planner's action steers what the model writes
                self._turn_action = reply.decision.action
        if reply is not None and reply.mode != "model":
            await self.push_frame(TeachingFrame(teaching=reply.as_fields()))
        if plan.report is not None:
            await self.push_frame(ControllerDecisionFrame(report=plan.report.as_event_fields()))
        if plan.hits:
            await self.push_frame(CitationsFrame(citations=plan.citations()))
        return plan

    async def _speak_ahead(self, clause: str) -> None:
        """Let the TTS synthesize an opening clause begun ahead (it speaks it only if the
        committed answer opens with the same clause)."""
        await self.push_frame(SpeculativeClauseFrame(text=clause))

    @property
    def speculations(self) -> AnswerSpeculationCounts:
        """Answers begun ahead: started, adopted, discarded (read by /metrics)."""
        return self._ahead.speculations

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
            self._turn_action = frame.action
        if isinstance(frame, ProvisionalTranscriptFrame):
            self._ahead.on_provisional(frame.text, frame.likely_action)
            return
        if isinstance(frame, VADUserStartedSpeakingFrame):
            self.continuation.voiced(time.monotonic(), frame.start_secs)
        if isinstance(frame, InterruptionFrame):
            self.continuation.interrupted(time.monotonic())
        if isinstance(frame, (UserStartedSpeakingFrame, InterruptionFrame, CancelFrame, EndFrame)):
            await self._ahead.drop()  # the learner goes on: that answer is void
        if isinstance(frame, LikelyActionFrame):
            self._ahead.on_answered(frame.action)
            return
        if not isinstance(frame, LLMContextFrame):
            await self.push_frame(frame, direction)
            return
        messages = frame.context.get_messages()
        if (parts := self.continuation.join(messages)) is not None:
            logger.info("learner went on: {!r} + {!r}", parts[0], parts[1])
            frame.context.set_messages(with_question(messages, parts[2]))
            await self.push_frame(ContinuedTurnFrame(*parts))
        self.continuation.committed(time.monotonic())
        await self._answer_turn(frame.context)

    async def _turn_messages(
        self, context: LLMContext
    ) -> tuple[list[ChatMessage], TurnPlan | None]:
        """The prompt this turn sends, and the plan that decides how it is answered."""
        question = last_user_text(context.get_messages())
        system, instructions = self._system_prompt, []
        if self._context_provider is not None:
            facts = await self._context_provider(question)
            if facts:
                logger.info("tool facts for this turn: {}", facts)
                instructions.append(TOOL_FACTS_HEADER + " ".join(facts))
        started = time.perf_counter()
        plan = await self._prepare(question)
        logger.debug("turn prepared in {:.0f} ms", (time.perf_counter() - started) * 1000)
        if plan is not None:
            system += plan.system_addendum()
        if self._turn_action:
            instructions.append(reply_instruction(self._turn_action))
            self._turn_action = ""
        messages = self._prompts.commit(system, context.get_messages(), "\n".join(instructions))
        return messages, plan

    async def _answer_turn(self, context: LLMContext) -> None:
        """One committed turn, spoken piece by piece; a failing backend degrades the turn
        (a fallback line), never the session."""
        self._ahead.context, self._ahead.answered = context, None
        messages, plan = await self._turn_messages(context)
        self._ahead.last_grounded = plan is not None and plan.grounded
        await self.push_frame(LLMFullResponseStartFrame())
        await self.start_processing_metrics()
        await self.start_ttfb_metrics()
        answer: list[str] = []
        self._turn_tokens = 0
        finished = False  # the whole answer was written (not cut short by a barge-in)
        try:
            finished = await self._speak(await self._open_stream(messages, plan), answer)
        except Exception as exc:
            reason = "no first token in time" if isinstance(exc, TimeoutError) else str(exc)
            logger.error("LLM backend {} failed: {}", self._backend.name, reason)
            await self.push_error(error_msg=f"LLM failed: {reason}", exception=exc)
            if not answer:  # say something rather than leave the learner in silence
                await self.push_frame(FallbackFrame(stage="llm", reason=reason))
                await self._push_llm_text(LLM_FALLBACK_LINE)
        finally:
            await self.stop_ttfb_metrics()
            await self.stop_processing_metrics()
            await self.push_frame(LLMFullResponseEndFrame())
            if answer and finished:  # the conversation the next turn continues
                said = {"role": "assistant", "content": "".join(answer)}
                self._ahead.answered = [*context.get_messages(), said]
                self._ahead.on_answered()
            if plan is not None and self._compute is not None:
                self._compute.finish(self._session_id, plan, "".join(answer), self._turn_tokens)

    async def _speak(self, stream: AsyncIterator[Piece], answer: list[str]) -> bool:
        """Push the stream's text on (thoughts as ThinkingFrames), collecting it in `answer`;
        True once the stream ended by itself."""
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
                    if not answer:
                        await self.stop_ttfb_metrics()
                    await self._push_llm_text(piece.text)
                    answer.append(piece.text)
                if self._first_audio is not None:
                    await self._first_audio.wait()  # Piper speaks the first clause first
                piece = await anext(pieces, None)
        return True
