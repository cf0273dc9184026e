"""LLM backends: the real embedded model, a real OpenAI-compatible server, and the service."""

from __future__ import annotations

import asyncio

import pytest
from pipecat.frames.frames import LLMContextFrame, LLMFullResponseEndFrame, LLMTextFrame
from pipecat.processors.aggregators.llm_context import LLMContext
from pipecat.tests.utils import run_test

from agent.backends.base import BackendError
from agent.backends.llama_cpp import LlamaCppBackend
from agent.backends.openai_compatible import OpenAICompatibleBackend
from agent.config import LLMSettings
from agent.turn.prompt import chat_messages, reply_instruction
from agent.turn.service import TutorLLMService
from evals.harness.server_process import llama_cpp_server
from speech.assets import ModelFileMissing

QUESTION = [
    {"role": "system", "content": "You are a helpful science tutor. Answer briefly."},
    {"role": "user", "content": "What do plants need to grow?"},
]


def test_chat_messages_keeps_text_turns_only():
    context = [
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": [{"type": "text", "text": "hello"}]},
        {"role": "tool", "content": "ignored"},
        {"role": "user", "content": "   "},
    ]
    assert chat_messages("sys", context) == [
        {"role": "system", "content": "sys"},
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": "hello"},
    ]


async def test_embedded_model_streams_an_answer():
    backend = LlamaCppBackend.shared(LLMSettings())
    pieces = [p async for p in backend.stream(QUESTION, max_tokens=40, temperature=0.0)]
    answer = "".join(pieces)
    assert len(pieces) > 3
    assert len(answer.split()) >= 5


async def test_embedded_stream_stops_when_cancelled():
    backend = LlamaCppBackend.shared(LLMSettings())
    stream = backend.stream(QUESTION, max_tokens=400, temperature=0.0)
    first = await stream.__anext__()
    await stream.aclose()
    assert first
    # The lock is free again quickly: a new request is served, not stuck behind 400 tokens.
    again = [p async for p in backend.stream(QUESTION, max_tokens=5, temperature=0.0)]
    assert again


def test_missing_model_file_is_a_clear_error(tmp_path):
    with pytest.raises(ModelFileMissing, match="ECO1_LLM__MODEL_PATH"):
        LlamaCppBackend(LLMSettings(model_path=tmp_path / "absent.gguf"))


async def test_openai_backend_unreachable_server_raises_backend_error():
    backend = OpenAICompatibleBackend(
        LLMSettings(backend="openai", base_url="http://127.0.0.1:9/v1", timeout_s=2)
    )
    with pytest.raises(BackendError, match="127.0.0.1:9"):
        _ = [p async for p in backend.stream(QUESTION, max_tokens=5, temperature=0.0)]
    await backend.close()


class ScriptedBackend:
    name = "scripted"

    def __init__(self, pieces, fail=False):
        self.pieces, self.fail, self.seen = pieces, fail, []

    async def stream(self, messages, *, max_tokens, temperature):
        self.seen.append(messages)
        for piece in self.pieces:
            await asyncio.sleep(0)
            yield piece
        if self.fail:
            raise BackendError("boom")

    async def warm_up(self):
        pass

    async def close(self):
        pass


async def test_service_streams_backend_text_with_the_system_prompt():
    backend = ScriptedBackend(["Plants ", "need light."])
    service = TutorLLMService(backend, system_prompt="SYS", max_tokens=10, temperature=0.0)
    context = LLMContext(messages=[{"role": "user", "content": "What do plants need?"}])
    down, _up = await run_test(
        service,
        frames_to_send=[LLMContextFrame(context)],
        expected_down_frames=None,
    )
    texts = [f.text for f in down if isinstance(f, LLMTextFrame)]
    assert texts == ["Plants ", "need light."]
    assert isinstance(down[-1], LLMFullResponseEndFrame)
    assert backend.seen[0][0] == {"role": "system", "content": "SYS"}


async def test_service_survives_a_failing_backend():
    backend = ScriptedBackend(["Half"], fail=True)
    service = TutorLLMService(backend, system_prompt="SYS", max_tokens=10, temperature=0.0)
    context = LLMContext(messages=[{"role": "user", "content": "hi"}])
    down, up = await run_test(
        service, frames_to_send=[LLMContextFrame(context)], expected_down_frames=None
    )
    assert any(isinstance(f, LLMFullResponseEndFrame) for f in down)
    assert any("LLM failed" in str(getattr(f, "error", "")) for f in up)


@pytest.fixture(scope="module")
def openai_server():
    with llama_cpp_server("smollm2") as server:
        yield server


async def test_openai_backend_streams_from_a_real_server(openai_server):
    backend = OpenAICompatibleBackend(
        LLMSettings(backend="openai", base_url=f"{openai_server.base_url}/v1", model="smollm2")
    )
    try:
        pieces = [p async for p in backend.stream(QUESTION, max_tokens=30, temperature=0.0)]
    finally:
        await backend.close()
    assert len(pieces) > 3 and len("".join(pieces).split()) >= 5


async def test_planner_hint_steers_only_the_next_reply():
    from planner.frames import PlanActionFrame

    backend = ScriptedBackend(["ok"])
    service = TutorLLMService(backend, system_prompt="SYS", max_tokens=10, temperature=0.0)
    context = LLMContext(messages=[{"role": "user", "content": "hi"}])
    await run_test(
        service,
        frames_to_send=[
            PlanActionFrame(action="example"),
            LLMContextFrame(context),
            LLMContextFrame(context),
        ],
        expected_down_frames=None,
    )
    assert backend.seen[0][0]["content"] == "SYS"  # the prompt stays one cacheable prefix
    assert backend.seen[0][1] == {"role": "system", "content": reply_instruction("example")}
    assert [m["role"] for m in backend.seen[1]] == ["system", "user"]


class HangingBackend(ScriptedBackend):
    async def stream(self, messages, *, max_tokens, temperature):
        await asyncio.Event().wait()
        yield "never"


async def _answer(service) -> tuple[list, list]:
    context = LLMContext(messages=[{"role": "user", "content": "hi"}])
    return await run_test(service, frames_to_send=[LLMContextFrame(context)])


@pytest.mark.parametrize(
    ("backend", "fault", "reason"),
    [
        (ScriptedBackend([], fail=True), None, "boom"),
        (HangingBackend([]), None, "no first token in time"),
        (ScriptedBackend(["never said"]), lambda kind: kind == "llm_error", "injected"),
        (ScriptedBackend(["never said"]), lambda kind: kind == "llm_timeout", "no first token"),
    ],
)
async def test_a_silent_failure_becomes_a_spoken_fallback(backend, fault, reason):
    from agent.turn.service import LLM_FALLBACK_LINE
    from speech.frames import FallbackFrame

    service = TutorLLMService(backend, system_prompt="SYS", max_tokens=10, temperature=0.0,
                              first_token_timeout_s=0.3, fault=fault)  # fmt: skip
    down, _ = await _answer(service)
    fallback = [f for f in down if isinstance(f, FallbackFrame)]
    assert len(fallback) == 1 and fallback[0].stage == "llm" and reason in fallback[0].reason
    assert [f.text for f in down if isinstance(f, LLMTextFrame)] == [LLM_FALLBACK_LINE]
    assert isinstance(down[-1], LLMFullResponseEndFrame)


async def test_a_failure_after_speaking_adds_no_fallback():
    from speech.frames import FallbackFrame

    down, up = await _answer(
        TutorLLMService(
            ScriptedBackend(["Half"], fail=True), system_prompt="S", max_tokens=5, temperature=0.0
        )  # fmt: skip
    )
    assert not any(isinstance(f, FallbackFrame) for f in down)
    assert [f.text for f in down if isinstance(f, LLMTextFrame)] == ["Half"]


async def test_the_controller_can_route_a_turn_to_the_remote_tier(openai_server):
    from agent.config import load_settings
    from agent.controller.decision import ComputeDecision
    from agent.turn.assembly import backend_tiers
    from agent.turn.compute import TurnCompute

    remote = {"backend": "openai", "base_url": f"{openai_server.base_url}/v1", "model": "x"}
    settings = load_settings(overrides={"controller": {"remote": remote}})
    tiers = backend_tiers(settings)
    assert set(tiers) == {"embedded", "remote"}
    remote_backend = tiers["remote"]
    calls = []

    def counted_stream(*args, **kwargs):
        calls.append(args)
        return remote_backend.__class__.stream(remote_backend, *args, **kwargs)

    remote_backend.stream = counted_stream
    compute = TurnCompute(tiers, fixed=ComputeDecision(tier="remote"))
    plan = await compute.prepare("s", "What do plants need to grow?")
    assert plan.backend is tiers["remote"]
    service = TutorLLMService(
        tiers["embedded"], system_prompt="SYS", max_tokens=16, temperature=0.0, compute=compute
    )
    context = LLMContext(messages=[{"role": "user", "content": "What do plants need to grow?"}])
    down, _ = await run_test(
        service, frames_to_send=[LLMContextFrame(context)], expected_down_frames=None
    )
    assert len("".join(f.text for f in down if isinstance(f, LLMTextFrame)).split()) >= 3
    assert len(calls) == 1  # answered by the remote server, not the embedded model
    await tiers["remote"].close()


async def test_a_pool_answers_two_sessions_side_by_side():
    from agent.backends.llama_pool import LlamaCppPool

    pool = LlamaCppPool(LLMSettings(instances=2))
    first = pool.stream(QUESTION, max_tokens=12, temperature=0.0)
    second = pool.stream(QUESTION, max_tokens=12, temperature=0.0)
    heads = [await anext(first), await anext(second)]
    assert pool.busy == [1, 1]  # each turn took its own context
    answered = [*QUESTION, {"role": "assistant", "content": "It pulls things down."}]
    assert await pool.read_conversation(answered) == -1  # no reading ahead beside a turn
    rest = [[p async for p in first], [p async for p in second]]
    answers = ["".join([h, *r]) for h, r in zip(heads, rest, strict=True)]
    assert answers[0] == answers[1] and len(answers[0].split()) >= 3
    assert pool.busy == [0, 0]
    assert await pool.read_conversation(answered) > 0
    cut = pool.stream(QUESTION, max_tokens=50, temperature=0.0)
    await anext(cut)
    await cut.aclose()  # a barge-in frees the context
    assert pool.busy == [0, 0]
    assert LlamaCppPool.shared(LLMSettings(instances=2)) is LlamaCppPool.shared(
        LLMSettings(instances=2)
    )
