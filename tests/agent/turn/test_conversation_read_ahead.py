"""Reading a session's conversation ahead of its next turn, while the learner listens and
speaks: the turn then reads only its question (or its hint and question)."""

from __future__ import annotations

from pipecat.frames.frames import BotStoppedSpeakingFrame, LLMContextFrame, UserStartedSpeakingFrame
from pipecat.processors.aggregators.llm_context import LLMContext
from pipecat.tests.utils import SleepFrame, run_test

from agent.backends.llama_cpp import LlamaCppBackend, template_tokens
from agent.config import LLMSettings
from agent.config.prompts import ACTION_HINTS
from agent.turn.prompt import HistoryLimits, SessionPrompts, reply_instruction
from agent.turn.service import TutorLLMService
from planner.frames import LikelyActionFrame, PlanActionFrame
from planner.processor import TutorPlannerProcessor
from planner.tutor_planner import QUESTION_ACTION

SYSTEM = "You are a patient science tutor. Answer in one short sentence."
HINT = QUESTION_ACTION
QUESTIONS = ["What is gravity?", "Why do we not float away?"]


async def answer(backend, messages) -> str:
    return "".join([p async for p in backend.stream(messages, max_tokens=16, temperature=0.0)])


async def a_session_turn_two(backend, read_ahead: bool) -> tuple[str, list[dict], list[dict]]:
    """Turn one, the read-ahead (or not), another prompt in between, then turn two."""
    prompts, instruction = SessionPrompts(HistoryLimits()), reply_instruction(HINT)
    context: list[dict] = [{"role": "user", "content": QUESTIONS[0]}]
    said = await answer(backend, prompts.commit(SYSTEM, context, instruction))
    context.append({"role": "assistant", "content": said})
    ahead = [*prompts.upcoming(SYSTEM, context), {"role": "system", "content": instruction}]
    if read_ahead:
        assert await backend.read_conversation(ahead[:-1]) > 0
        assert await backend.read_conversation(ahead) > 0
        assert await backend.read_conversation(ahead) == 0  # saved already: nothing read
    await answer(backend, [{"role": "system", "content": "You are a pirate."},
                           {"role": "user", "content": "Hi"}])  # fmt: skip
    context.append({"role": "user", "content": QUESTIONS[1]})
    turn_two = prompts.commit(SYSTEM, context, instruction)
    return await answer(backend, turn_two), turn_two, ahead


async def test_a_conversation_read_ahead_leaves_the_turn_only_its_question():
    """The real model: the state saved while the learner spoke is restored after the context
    served another prompt, and the turn reads exactly its question."""
    backend = LlamaCppBackend(LLMSettings(context_tokens=704, conversation_states=4))
    with_ahead, turn_two, ahead = await a_session_turn_two(backend, read_ahead=True)
    llama = backend._model()
    prompt_tokens = template_tokens(llama, backend._chat_prompt(llama, turn_two)[0])
    ahead_tokens = backend._prefix_tokens(llama, ahead)
    assert turn_two[: len(ahead)] == ahead
    assert list(prompt_tokens[: len(ahead_tokens)]) == list(ahead_tokens)
    assert backend.last_read == (len(prompt_tokens) - len(ahead_tokens), len(prompt_tokens))
    assert backend.last_read[0] < 20 < backend.last_read[1]

    plain = LlamaCppBackend(LLMSettings(context_tokens=704, conversation_states=0))
    without, same_turn, _ = await a_session_turn_two(plain, read_ahead=False)
    assert same_turn == turn_two
    # Read in other chunks, the prompt's sums run in another order: greedy answers agree
    # in their opening and may part later, as with llama.cpp's own prefix reuse.
    assert without.split()[:6] == with_ahead.split()[:6]
    assert plain.last_read[0] > backend.last_read[0] + 10  # the notes' tail and answer again
    assert await plain.read_conversation(ahead) == 0  # turned off: nothing saved


class ReadingBackend:
    """Answers one line and records what the service reads ahead."""

    name = "reading"

    def __init__(self, fail: bool = False) -> None:
        self.read: list[list[dict]] = []
        self.streamed: list[list[dict]] = []
        self.fail = fail

    async def read_conversation(self, messages) -> int:
        self.read.append(messages)
        return len(messages)

    async def stream(self, messages, *, max_tokens: int, temperature: float):
        self.streamed.append(messages)
        if self.fail:
            raise RuntimeError("backend down")
        yield "Gravity pulls."


async def test_the_service_reads_the_next_prompts_start_once_it_has_answered():
    backend = ReadingBackend()
    llm = TutorLLMService(backend, system_prompt=SYSTEM, max_tokens=12, temperature=0.0,
                          history=HistoryLimits())  # fmt: skip
    first = {"role": "user", "content": QUESTIONS[0]}
    reply = {"role": "assistant", "content": "Gravity pulls."}
    second = {"role": "user", "content": QUESTIONS[1]}
    plan = PlanActionFrame(action=QUESTION_ACTION)
    await run_test(
        llm,
        frames_to_send=[
            plan,
            LLMContextFrame(LLMContext(messages=[first])),
            SleepFrame(sleep=0.2),
            LikelyActionFrame(action=HINT),
            SleepFrame(sleep=0.2),
            plan,
            LLMContextFrame(LLMContext(messages=[first, reply, second])),
        ],  # fmt: skip
        expected_down_frames=None,
    )
    turn_one, turn_two = backend.streamed
    instruction = {"role": "system", "content": reply_instruction(HINT)}
    start = [*turn_one, reply]
    assert backend.read[0] == start and [*start, instruction] in backend.read
    assert turn_two == [*start, instruction, second]  # the turn sent what was read ahead


async def test_an_answer_that_failed_is_not_read_ahead():
    backend = ReadingBackend(fail=True)
    llm = TutorLLMService(backend, system_prompt=SYSTEM, max_tokens=12, temperature=0.0)
    await run_test(
        llm,
        frames_to_send=[
            LLMContextFrame(LLMContext(messages=[{"role": "user", "content": QUESTIONS[0]}])),
            SleepFrame(sleep=0.2),
            LikelyActionFrame(action=HINT),
            SleepFrame(sleep=0.1),
        ],  # fmt: skip
        expected_down_frames=None,
    )
    assert backend.streamed and backend.read == []  # its prompt is not the one to come


async def test_the_planner_tells_the_hint_a_question_would_get_before_it_is_heard():
    planner = TutorPlannerProcessor()
    down, _ = await run_test(
        planner,
        frames_to_send=[
            BotStoppedSpeakingFrame(),
            SleepFrame(sleep=0.05),
            UserStartedSpeakingFrame(),
        ],  # fmt: skip
        expected_down_frames=None,
    )
    hints = [f.action for f in down if isinstance(f, LikelyActionFrame)]
    assert len(hints) == 2
    assert hints[1] == planner.preview(QUESTIONS[0])  # as a question's words will decide
    assert set(hints) <= set(ACTION_HINTS)
