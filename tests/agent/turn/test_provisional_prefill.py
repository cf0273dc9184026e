"""Reading the prompt ahead on the provisional transcript: same prompt, same answer."""

from __future__ import annotations

import asyncio

from pipecat.frames.frames import LLMContextFrame, LLMTextFrame
from pipecat.processors.aggregators.llm_context import LLMContext
from pipecat.tests.utils import SleepFrame, run_test

from agent.backends.llama_cpp import LlamaCppBackend
from agent.config import LLMSettings
from agent.turn.prompt import HistoryLimits, chat_messages, reply_instruction
from agent.turn.service import TutorLLMService
from planner.frames import PlanActionFrame
from planner.tutor_planner import QUESTION_ACTION
from speech.frames import ProvisionalTranscriptFrame

HINT = reply_instruction(QUESTION_ACTION)
MESSAGES = chat_messages(
    "You are a patient tutor.", [{"role": "user", "content": "What is gravity?"}], HINT
)


async def answer(backend, messages) -> str:
    return "".join([p async for p in backend.stream(messages, max_tokens=12, temperature=0.0)])


async def test_a_prefilled_prompt_leaves_only_the_answer_to_generate():
    backend = LlamaCppBackend(LLMSettings(prefix_cache_entries=8, context_tokens=832))
    expected = await answer(backend, MESSAGES)
    await answer(backend, chat_messages("You are a pirate.", [{"role": "user", "content": "Hi"}]))
    assert await backend.prefill(MESSAGES) > 0
    assert await backend.prefill(MESSAGES) == 0  # already held: nothing to read
    llama = backend._model()
    reads: list[int] = []
    original = llama.eval

    def counting(tokens):
        reads.append(len(tokens))
        return original(tokens)

    llama.eval = counting
    try:
        assert await answer(backend, MESSAGES) == expected
    finally:
        del llama.eval
    assert reads and reads[0] <= 1, reads  # the turn read at most its last prompt token


async def test_a_busy_context_is_not_prefilled():
    backend = LlamaCppBackend(LLMSettings(prefix_cache_entries=0, context_tokens=800))
    backend._model()
    with backend._generate_lock:
        assert await backend.prefill(MESSAGES) == -1


class RecordingBackend:
    name = "recording"

    def __init__(self) -> None:
        self.prefilled: list = []
        self.streamed: list = []

    async def prefill(self, messages) -> int:
        self.prefilled.append(messages)
        return 1

    async def stream(self, messages, *, max_tokens: int, temperature: float):
        self.streamed.append(messages)
        yield "Gravity pulls."


class AnsweringBackend(RecordingBackend):
    """Adds its reply to the session's context after streaming, as the assistant
    aggregator does."""

    def __init__(self, session: LLMContext, reply: dict) -> None:
        super().__init__()
        self.session, self.reply = session, reply

    async def stream(self, messages, *, max_tokens: int, temperature: float):
        async for piece in super().stream(messages, max_tokens=12, temperature=0.0):
            yield piece
        self.session.add_message(self.reply)


async def two_turns(llm: TutorLLMService, session: LLMContext, reply: dict, next_question: dict):
    """The session's first turn, then a provisional transcript and the commit of the next."""
    first = list(session.get_messages())  # before the reply is added
    await run_test(
        llm,
        frames_to_send=[
            PlanActionFrame(action=QUESTION_ACTION),
            LLMContextFrame(session),
            SleepFrame(sleep=0.2),
            ProvisionalTranscriptFrame(text=next_question["content"]),
            SleepFrame(sleep=0.2),
            PlanActionFrame(action=QUESTION_ACTION),
            LLMContextFrame(LLMContext(messages=[*first, reply, next_question])),
        ],
        expected_down_frames=None,
    )


async def test_the_service_reads_ahead_the_prompt_its_turn_sends():
    backend = RecordingBackend()
    llm = TutorLLMService(
        backend, system_prompt="You are a patient tutor.", max_tokens=12, temperature=0.0
    )
    context = LLMContext(messages=[{"role": "user", "content": "What is gravity?"}])
    plan = PlanActionFrame(action=QUESTION_ACTION)
    down, _ = await run_test(
        llm,
        frames_to_send=[
            ProvisionalTranscriptFrame(text="What is gravity?"),
            SleepFrame(sleep=0.2),
            plan,
            LLMContextFrame(context),
        ],
        expected_down_frames=None,
    )
    assert any(isinstance(f, LLMTextFrame) for f in down)
    assert not any(isinstance(f, ProvisionalTranscriptFrame) for f in down)  # consumed
    assert backend.prefilled == backend.streamed == [MESSAGES]


async def test_notes_for_a_question_are_the_turns_notes():
    from agent.retrieval.index import HybridIndex
    from agent.retrieval.notes import default_notes_dir
    from agent.turn.compute import TurnCompute

    compute = TurnCompute(
        {"embedded": None}, index=HybridIndex.from_folder(default_notes_dir()), retrieval_k=1
    )
    question = "What do decomposers do?"
    notes = await compute.notes_for(question)
    plan = await compute.prepare("s1", question)
    assert notes and notes == plan.system_addendum()
    assert question in compute._recent_hits  # the turn found the search done
    assert await asyncio.wait_for(compute.notes_for("   "), 1) == ""


async def test_a_second_turn_keeps_the_first_turns_hint_where_it_was_sent():
    """The session's next prompt extends the last one (agent/turn/prompt.py), and the read-ahead
    of turn two is exactly what turn two sends."""
    question = {"role": "user", "content": "What is gravity?"}
    reply = {"role": "assistant", "content": "Gravity pulls."}
    follow_up = {"role": "user", "content": "Why do we not float?"}
    session = LLMContext(messages=[question])
    backend = AnsweringBackend(session, reply)
    llm = TutorLLMService(
        backend, system_prompt="You are a patient tutor.", max_tokens=12, temperature=0.0
    )
    await two_turns(llm, session, reply, follow_up)
    turn_one, turn_two = backend.streamed
    assert turn_two[: len(turn_one)] == turn_one  # nothing before the new turn changed
    assert [m["role"] for m in turn_two[len(turn_one) :]] == ["assistant", "system", "user"]
    assert backend.prefilled == [turn_two]


async def test_a_new_topic_is_read_ahead_as_sent_without_the_old_hint():
    """On other notes the prompt restarts at the last exchange (agent/turn/prompt.py,
    SessionPrompts) in the read-ahead as in the turn sent."""
    from agent.retrieval.index import HybridIndex
    from agent.retrieval.notes import default_notes_dir
    from agent.turn.compute import TurnCompute

    compute = TurnCompute(
        {"embedded": None}, index=HybridIndex.from_folder(default_notes_dir()), retrieval_k=1
    )
    question = {"role": "user", "content": "What is gravity?"}
    reply = {"role": "assistant", "content": "Gravity pulls."}
    new_topic = {"role": "user", "content": "And what do decomposers do in an ecosystem?"}
    assert await compute.notes_for(question["content"]) != await compute.notes_for(
        new_topic["content"]
    )
    session = LLMContext(messages=[question])
    backend = AnsweringBackend(session, reply)
    llm = TutorLLMService(
        backend, system_prompt="You are a patient tutor.", max_tokens=12, temperature=0.0,
        compute=compute, session_id="s1", history=HistoryLimits(),
    )  # fmt: skip
    await two_turns(llm, session, reply, new_topic)
    turn_one, turn_two = backend.streamed
    assert [m["role"] for m in turn_one] == ["system", "system", "user"]
    assert [m["role"] for m in turn_two] == ["system", "user", "assistant", "system", "user"]
    assert turn_two[1] == question  # the last exchange stays, its old hint does not
    assert backend.prefilled == [turn_two]


class AnsweredAndAskedBackend(AnsweringBackend):
    """Adds its reply, then the learner's next question, to the shared context: the user
    aggregator commits a turn just as its provisional transcript reaches the LLM."""

    def __init__(self, session: LLMContext, reply: dict, asked: dict) -> None:
        super().__init__(session, reply)
        self.asked = asked

    async def stream(self, messages, *, max_tokens: int, temperature: float):
        async for piece in super().stream(messages, max_tokens=12, temperature=0.0):
            yield piece
        if len(self.streamed) == 1:
            self.session.add_message(self.asked)


async def test_a_provisional_transcript_already_in_the_context_is_not_asked_twice():
    question = {"role": "user", "content": "What is gravity?"}
    reply = {"role": "assistant", "content": "Gravity pulls."}
    follow_up = {"role": "user", "content": "Why do we not float?"}
    session = LLMContext(messages=[question])
    backend = AnsweredAndAskedBackend(session, reply, follow_up)
    llm = TutorLLMService(
        backend, system_prompt="You are a patient tutor.", max_tokens=12, temperature=0.0
    )
    await two_turns(llm, session, reply, follow_up)
    turn_two = backend.streamed[1]
    assert [m["content"] for m in turn_two].count(follow_up["content"]) == 1
    assert backend.prefilled == [turn_two]
