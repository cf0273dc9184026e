"""Answers begun on the provisional transcript: adopted only for the same prompt, else void."""

from __future__ import annotations

import asyncio
from functools import partial

from pipecat.frames.frames import (
    LLMContextFrame,
    LLMFullResponseEndFrame,
    LLMFullResponseStartFrame,
    LLMTextFrame,
    TTSAudioRawFrame,
    UserStartedSpeakingFrame,
)
from pipecat.processors.aggregators.llm_context import LLMContext
from pipecat.tests.utils import SleepFrame, run_test

from agent.backends.llama_cpp import LlamaCppBackend
from agent.backends.thinking import Piece
from agent.config import LLMSettings
from agent.turn.service import TutorLLMService
from agent.turn.speculation import SpeculativeAnswer
from planner.frames import PlanActionFrame
from planner.tutor_planner import QUESTION_ACTION
from speech.clauses import opening_clause
from speech.frames import ProvisionalTranscriptFrame, SpeculativeClauseFrame
from speech.tts import AlignedPiperTTSService

ANSWER = ["Bees ", "collect ", "nectar ", "from ", "flowers ", "and ", "make ", "honey."]
CLAUSE = partial(opening_clause, min_words=4, first_clause_words=4)
QUESTION = "How do bees make honey?"


class StreamLog:
    """A fake model stream that records how far it was read and whether it was closed."""

    def __init__(self, pieces: list[str] = ANSWER) -> None:
        self.pieces = pieces
        self.read = 0
        self.closed = False

    async def stream(self):
        try:
            for text in self.pieces:
                self.read += 1
                yield Piece(text)
        finally:
            self.closed = True


async def test_the_reader_stops_at_the_opening_clause_and_adoption_continues():
    log, clauses = StreamLog(), []

    async def on_clause(clause: str) -> None:
        clauses.append(clause)

    answer = SpeculativeAnswer([], log.stream(), CLAUSE, on_clause)
    await asyncio.sleep(0.05)
    assert clauses == ["Bees collect nectar from flowers"]
    assert log.read < len(ANSWER)  # it waits for the commit instead of writing on
    text = "".join([p.text async for p in answer.adopt()])
    assert text == "".join(ANSWER) and log.closed


async def test_a_discarded_answer_closes_its_stream():
    log = StreamLog()
    answer = SpeculativeAnswer([], log.stream(), CLAUSE, lambda _c: asyncio.sleep(0))
    await asyncio.sleep(0.05)
    await answer.discard()
    assert log.closed and log.read < len(ANSWER)


async def test_an_unclaimed_answer_expires():
    log = StreamLog()
    SpeculativeAnswer([], log.stream(), CLAUSE, lambda _c: asyncio.sleep(0), max_age_s=0.1)
    await asyncio.sleep(0.3)
    assert log.closed


class CountingBackend:
    """Streams ANSWER for every request; counts the streams it opened."""

    name = "counting"

    def __init__(self) -> None:
        self.streams: list[StreamLog] = []
        self.requests: list = []

    async def prefill(self, messages) -> int:
        return 0

    def stream(self, messages, *, max_tokens: int, temperature: float):
        self.requests.append(messages)
        log = StreamLog()
        self.streams.append(log)

        async def texts():
            async for piece in log.stream():
                yield piece.text

        return texts()


def tutor(backend) -> TutorLLMService:
    return TutorLLMService(
        backend, system_prompt="You are a patient tutor.", max_tokens=24, temperature=0.0,
        opening_clause=CLAUSE,
    )  # fmt: skip


def turn(action: str = QUESTION_ACTION, before_commit: list | None = None) -> list:
    return [
        ProvisionalTranscriptFrame(text=QUESTION),
        SleepFrame(sleep=0.2),
        *(before_commit or []),
        PlanActionFrame(action=action),
        LLMContextFrame(LLMContext(messages=[{"role": "user", "content": QUESTION}])),
        SleepFrame(sleep=0.2),
    ]


async def test_the_same_prompt_adopts_the_answer_begun_ahead():
    backend = CountingBackend()
    llm = tutor(backend)
    down, _ = await run_test(llm, frames_to_send=turn(), expected_down_frames=None)
    assert len(backend.requests) == 1  # the committed turn opened no stream of its own
    assert llm.speculations.adopted == 1 and llm.speculations.discarded == 0
    said = "".join(f.text for f in down if isinstance(f, LLMTextFrame))
    assert said == "".join(ANSWER)
    clauses = [f.text for f in down if isinstance(f, SpeculativeClauseFrame)]
    assert clauses == ["Bees collect nectar from flowers"]


async def test_another_hint_discards_it_and_answers_afresh():
    backend = CountingBackend()
    llm = tutor(backend)
    down, _ = await run_test(llm, frames_to_send=turn(action="check"),
                             expected_down_frames=None)  # fmt: skip
    assert len(backend.requests) == 2 and backend.streams[0].closed
    assert llm.speculations.adopted == 0 and llm.speculations.discarded == 1
    said = "".join(f.text for f in down if isinstance(f, LLMTextFrame))
    assert said == "".join(ANSWER)  # said once, from the fresh stream


async def test_speech_resuming_voids_the_answer():
    backend = CountingBackend()
    llm = tutor(backend)
    await run_test(llm, frames_to_send=turn(before_commit=[UserStartedSpeakingFrame()]),
                   expected_down_frames=None)  # fmt: skip
    assert backend.streams[0].closed
    assert llm.speculations.adopted == 0 and llm.speculations.discarded == 1
    assert len(backend.requests) == 2


async def answer_text(llm: TutorLLMService, frames: list) -> str:
    down, _ = await run_test(llm, frames_to_send=frames, expected_down_frames=None)
    return "".join(f.text for f in down if isinstance(f, LLMTextFrame))


async def test_with_the_real_model_an_adopted_answer_is_the_answer():
    """Greedy SmolLM2: the answer begun ahead and adopted is word for word the answer the
    committed turn would have written itself."""
    settings = LLMSettings(prefix_cache_entries=0, context_tokens=1024)
    commit_only = turn()[2:]  # the same turn without its provisional transcript
    plain = await answer_text(
        TutorLLMService(LlamaCppBackend(settings), system_prompt="You are a patient tutor.",
                        max_tokens=24, temperature=0.0),
        commit_only,
    )  # fmt: skip
    llm = tutor(LlamaCppBackend(settings))  # both start from an empty context
    assert await answer_text(llm, turn()) == plain
    assert llm.speculations.adopted == 1


async def test_piper_speaks_an_opening_clause_synthesized_ahead():
    """Real Piper: the clause synthesized ahead is the audio spoken; another text is not."""

    async def spoken(ahead: str) -> tuple[AlignedPiperTTSService, int]:
        tts = AlignedPiperTTSService(clause_min_words=4, first_clause_words=4)
        down, _ = await run_test(
            tts,
            frames_to_send=[
                SpeculativeClauseFrame(text=ahead),
                SleepFrame(sleep=1.0),
                LLMFullResponseStartFrame(),
                *[LLMTextFrame(text) for text in ANSWER],
                LLMFullResponseEndFrame(),
                SleepFrame(sleep=1.0),
            ],
            expected_down_frames=None,
        )
        return tts, sum(len(f.audio) for f in down if isinstance(f, TTSAudioRawFrame))

    matched, matched_bytes = await spoken("Bees collect nectar from flowers")
    assert matched.ahead_used == 1 and matched_bytes > 0
    missed, missed_bytes = await spoken("Ants carry leaves home")
    assert missed.ahead_used == 0 and missed_bytes > 0


async def test_the_planner_gives_a_provisional_transcript_the_turns_hint():
    from agent.tutoring.pedagogy import model_turn
    from agent.tutoring.state import TutorState
    from planner.processor import TutorPlannerProcessor

    text = "Why do birds migrate in winter?"
    state = TutorState()  # the session's, shared by the planner's senses and the turn
    down, _ = await run_test(
        TutorPlannerProcessor(state.lesson, state.signals),
        frames_to_send=[ProvisionalTranscriptFrame(text=text)],
        expected_down_frames=None,
    )
    provisional = next(f for f in down if isinstance(f, ProvisionalTranscriptFrame))
    decided = model_turn(state, text, state.signals).decision
    assert provisional.likely_action and provisional.likely_action == decided.action


async def test_an_expired_answer_is_not_adopted_by_a_late_commit():
    """A commit after the speculation expired answers afresh instead of adopting a closed
    stream."""
    backend = CountingBackend()
    llm = tutor(backend)
    late = turn()
    late[1] = SleepFrame(sleep=0.4)
    original = SpeculativeAnswer.__init__

    def short_lived(self, *args, **kwargs):
        original(self, *args, **{**kwargs, "max_age_s": 0.1})

    SpeculativeAnswer.__init__ = short_lived
    try:
        down, _ = await run_test(llm, frames_to_send=late, expected_down_frames=None)
    finally:
        SpeculativeAnswer.__init__ = original
    assert llm.speculations.adopted == 0 and len(backend.requests) == 2
    said = "".join(f.text for f in down if isinstance(f, LLMTextFrame))
    assert said == "".join(ANSWER)
