"""A learner who goes on right after a commit: the two parts are answered as one question."""

from __future__ import annotations

import asyncio

from pipecat.frames.frames import (
    InterruptionFrame,
    LLMContextFrame,
    VADUserStartedSpeakingFrame,
)
from pipecat.processors.aggregators.llm_context import LLMContext
from pipecat.tests.utils import SleepFrame, run_test

from agent.turn.continuation import ContinuationWatch, continued_question, joined
from agent.turn.frames import ContinuedTurnFrame
from agent.turn.service import TutorLLMService

FIRST, REST = "How do you plan?", "Make their food?"


def test_the_parts_read_as_one_question():
    assert joined(FIRST, REST) == "How do you plan make their food?"
    assert joined("What is, um...", "a food web?") == "What is, um a food web?"
    assert joined("Can you tell me?", "I mean what gravity is.") == (
        "Can you tell me I mean what gravity is."
    )


def test_the_previous_question_is_found_across_a_cut_short_reply():
    user = [{"role": "user", "content": FIRST}, {"role": "user", "content": REST}]
    assert continued_question(user) == (FIRST, REST)
    cut = [user[0], {"role": "assistant", "content": "To plan"}, user[1]]
    assert continued_question(cut) == (FIRST, REST)
    assert continued_question(user[:1]) is None
    assert continued_question([*cut, {"role": "assistant", "content": "x"}]) is None


def watch(resumed_after_s: float, cut_short: bool = True) -> ContinuationWatch:
    w = ContinuationWatch(window_s=0.5, fragment_window_s=1.2)
    w.committed(10.0)
    w.voiced(10.0 + resumed_after_s, 0.0)
    if cut_short:
        w.interrupted(10.0 + resumed_after_s + 0.8)
    return w


def test_only_a_quick_return_with_the_answer_cut_short_is_joined():
    messages = [{"role": "user", "content": FIRST}, {"role": "user", "content": REST}]
    assert watch(0.3).join(messages) == (FIRST, REST, "How do you plan make their food?")
    assert watch(0.9).join(messages) is not None  # a fragment may come later
    assert watch(1.5).join(messages) is None
    asks = [messages[0], {"role": "user", "content": "Why is the sky blue?"}]
    assert watch(0.3).join(asks) is not None
    assert watch(0.9).join(asks) is None  # time to hear the tutor and ask anew
    assert watch(0.3, cut_short=False).join(messages) is None  # the answer was all heard
    correction = [messages[0], {"role": "user", "content": "No, I meant the Sun."}]
    assert watch(0.3).join(correction) is None
    off = ContinuationWatch(window_s=0.0)
    off.committed(10.0), off.voiced(10.1, 0.0), off.interrupted(10.5)
    assert off.join(messages) is None


def test_only_the_first_voice_after_a_commit_counts():
    w = watch(0.9)
    w.voiced(10.2, 0.0)  # a later report of the same voice does not move it earlier
    assert not w.went_on("Why?")


def test_the_onset_is_the_first_voiced_window_the_vad_then_confirms():
    w = ContinuationWatch(window_s=0.5)
    w.committed(10.0)
    for t in (10.30, 10.33, 10.36, 10.40):  # one run of voiced windows
        w.voice_heard(t)
    w.voiced(10.75, 0.2)  # confirmed after start_secs and the volume's smoothing
    assert w.resumed_at == 10.30
    stale = ContinuationWatch(window_s=0.5)
    stale.voice_heard(9.0)  # a click long before
    stale.committed(10.0)
    stale.voiced(10.75, 0.2)
    assert stale.resumed_at == 10.55


def test_an_echo_at_the_answers_start_does_not_join_a_later_question():
    w = ContinuationWatch(window_s=0.5)
    w.committed(10.0)
    w.voiced(10.2, 0.0)  # the tutor's first words heard back
    w.interrupted(16.0)  # a barge-in seconds later
    assert not w.went_on("make their food")


class SlowBackend:
    """Streams a long answer slowly, so a learner can cut it short; keeps the requests."""

    name = "slow"

    def __init__(self) -> None:
        self.requests: list = []

    async def prefill(self, messages) -> int:
        return 0

    def stream(self, messages, *, max_tokens: int, temperature: float):
        self.requests.append(messages)

        async def texts():
            for word in "Plants make food from light, water and air.".split():
                await asyncio.sleep(0.1)
                yield word + " "

        return texts()


async def answered(resume_after_s: float) -> tuple[SlowBackend, list]:
    backend = SlowBackend()
    llm = TutorLLMService(
        backend, system_prompt="You are a patient tutor.", max_tokens=24, temperature=0.0,
        continuation=ContinuationWatch(window_s=0.5),
    )  # fmt: skip
    first = [{"role": "user", "content": FIRST}]
    frames = [
        LLMContextFrame(LLMContext(messages=first)),
        SleepFrame(sleep=resume_after_s),
        VADUserStartedSpeakingFrame(start_secs=0.0),
        InterruptionFrame(),
        LLMContextFrame(LLMContext(messages=[*first, {"role": "user", "content": REST}])),
        SleepFrame(sleep=1.2),
    ]
    down, _ = await run_test(llm, frames_to_send=frames, expected_down_frames=None)
    return backend, down


def asked(messages: list) -> str:
    return next(m["content"] for m in reversed(messages) if m["role"] == "user")


async def test_a_learner_going_on_is_answered_the_whole_question():
    backend, down = await answered(resume_after_s=0.2)
    assert [asked(r) for r in backend.requests] == [FIRST, "How do you plan make their food?"]
    continued = [f for f in down if isinstance(f, ContinuedTurnFrame)]
    assert [(f.first, f.rest) for f in continued] == [(FIRST, REST)]


async def test_a_learner_speaking_after_hearing_the_tutor_asks_anew():
    backend, down = await answered(resume_after_s=1.4)
    assert [asked(r) for r in backend.requests] == [FIRST, REST]
    assert not any(isinstance(f, ContinuedTurnFrame) for f in down)
