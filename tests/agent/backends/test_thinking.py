"""Thinking segments: tag splitting, budget forcing on the real embedded model and on an
OpenAI-compatible server speaking vLLM's reasoning protocol, and thought never reaching TTS."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time

import pytest
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import StreamingResponse
from pipecat.frames.frames import LLMContextFrame, LLMTextFrame
from pipecat.processors.aggregators.llm_context import LLMContext
from pipecat.tests.utils import run_test

from agent.backends.base import turn_pieces
from agent.backends.llama_cpp import LlamaCppBackend
from agent.backends.openai_compatible import OpenAICompatibleBackend
from agent.backends.thinking import THINK_CLOSE, Piece, ThinkTagSplitter, forced_close
from agent.config import LLMSettings
from agent.controller.decision import ComputeDecision
from agent.turn.compute import TurnCompute
from agent.turn.frames import ThinkingFrame
from agent.turn.service import TutorLLMService

QUESTION = [
    {"role": "system", "content": "You are a science tutor. Answer briefly."},
    {"role": "user", "content": "Why is the sky blue?"},
]


def _split(chunks: list[str]) -> list[Piece]:
    splitter = ThinkTagSplitter()
    pieces = [p for chunk in chunks for p in splitter.feed(chunk)] + splitter.flush()
    merged: list[Piece] = []
    for piece in pieces:  # join neighbours of the same kind to compare texts
        if merged and merged[-1].thinking == piece.thinking:
            merged[-1] = Piece(merged[-1].text + piece.text, piece.thinking)
        else:
            merged.append(piece)
    return merged


@pytest.mark.parametrize(
    "chunks",
    [
        ["<think>light scatters</think>Because of scattering."],
        ["<thi", "nk>light sca", "tters</th", "ink>Because", " of scattering."],
        ["<", "t", "h", "i", "n", "k", ">light scatters<", "/think>Because of scattering."],
    ],
)
def test_tag_splitter_handles_tags_cut_across_chunks(chunks):
    assert _split(chunks) == [
        Piece("light scatters", thinking=True),
        Piece("Because of scattering.", thinking=False),
    ]


def test_text_without_tags_is_all_answer_and_a_lone_angle_bracket_survives():
    assert _split(["2 < 3 and ", "5 > 4"]) == [Piece("2 < 3 and 5 > 4")]


def test_forced_close_ends_the_segment():
    assert forced_close(" half a thought ").endswith(f"half a thought\n{THINK_CLOSE}\n\n")


@pytest.fixture(scope="module")
def embedded():
    return LlamaCppBackend.shared(LLMSettings())


async def test_embedded_thinking_stops_at_its_budget_then_answers(embedded):
    pieces = [
        p
        async for p in embedded.stream_turn(
            QUESTION, max_tokens=24, temperature=0.0, think_tokens=12
        )
    ]
    thought = [p for p in pieces if p.thinking]
    answer = "".join(p.text for p in pieces if not p.thinking)
    assert 1 <= len(thought) <= 12  # budget forcing: never more thought tokens than allowed
    assert pieces.index(thought[-1]) < len(thought)  # the thought comes first
    assert len(answer.split()) >= 3 and "<think>" not in answer


async def test_no_budget_means_no_thought(embedded):
    pieces = [p async for p in turn_pieces(embedded, QUESTION, max_tokens=12, temperature=0.0)]
    assert pieces and not any(p.thinking for p in pieces)


# --- an OpenAI-compatible server that thinks the way vLLM with a reasoning parser does -------


def _sse(delta: dict) -> str:
    return "data: " + json.dumps(
        {"id": "x", "object": "chat.completion.chunk", "created": 0, "model": "m",
         "choices": [{"index": 0, "delta": delta, "finish_reason": None}]}
    ) + "\n\n"  # fmt: skip


def _thinking_app(requests: list[dict]) -> FastAPI:
    app = FastAPI()

    @app.post("/v1/chat/completions")
    async def complete(request: Request):
        body = await request.json()
        requests.append(body)

        async def events():
            if body.get("continue_final_message"):
                for word in ["Blue ", "light ", "scatters ", "most."]:
                    yield _sse({"content": word})
            else:
                for i in range(500):  # a model that would think forever
                    yield _sse({"reasoning_content": f"step{i} "})
                    await asyncio.sleep(0)
            yield "data: [DONE]\n\n"

        return StreamingResponse(events(), media_type="text/event-stream")

    return app


@pytest.fixture
def thinking_server():
    requests: list[dict] = []
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(_thinking_app(requests), port=port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}/v1", requests
    server.should_exit = True
    thread.join(timeout=5)


async def _remote_pieces(backend: OpenAICompatibleBackend, think_tokens: int) -> list[Piece]:
    try:
        return [
            p
            async for p in turn_pieces(
                backend, QUESTION, max_tokens=20, temperature=0.0, think_tokens=think_tokens
            )
        ]
    finally:
        await backend.close()


async def test_remote_thinking_is_cut_at_the_budget_and_continued(thinking_server):
    url, requests = thinking_server
    backend = OpenAICompatibleBackend(
        LLMSettings(backend="openai", base_url=url, model="m", thinking=True)
    )
    pieces = await _remote_pieces(backend, think_tokens=16)
    assert sum(p.thinking for p in pieces) == 16
    assert "".join(p.text for p in pieces if not p.thinking) == "Blue light scatters most."
    first, second = requests
    assert first["chat_template_kwargs"] == {"enable_thinking": True}
    assert second["continue_final_message"] and not second["add_generation_prompt"]
    assert second["messages"][-1]["content"].rstrip().endswith(THINK_CLOSE)


async def test_a_backend_that_cannot_think_is_not_asked_to(thinking_server):
    url, requests = thinking_server
    backend = OpenAICompatibleBackend(LLMSettings(backend="openai", base_url=url, model="m"))
    pieces = await _remote_pieces(backend, think_tokens=16)
    assert not backend.supports_thinking and not any(p.thinking for p in pieces)
    assert len(requests) == 1 and "chat_template_kwargs" not in requests[0]


# --- the service: thought goes to the page, never to TTS ------------------------------------


class ThinkingScript:
    name = "scripted"
    supports_thinking = True

    async def stream(self, messages, *, max_tokens, temperature):
        yield "plain"

    async def stream_turn(self, messages, *, max_tokens, temperature, think_tokens):
        for piece in [Piece("hmm ", True), Piece("light... ", True), Piece("Blue "), Piece("sky.")]:
            yield piece

    async def warm_up(self):
        pass

    async def close(self):
        pass


async def test_thought_is_shown_not_spoken():
    backend = ThinkingScript()
    service = TutorLLMService(
        backend, system_prompt="SYS", max_tokens=10, temperature=0.0,
        compute=TurnCompute({"embedded": backend}, fixed=ComputeDecision(think_tokens=32)),
    )  # fmt: skip
    context = LLMContext(messages=[{"role": "user", "content": "Why is the sky blue?"}])
    down, _ = await run_test(
        service, frames_to_send=[LLMContextFrame(context)], expected_down_frames=None
    )
    spoken = "".join(f.text for f in down if isinstance(f, LLMTextFrame))
    shown = "".join(f.text for f in down if isinstance(f, ThinkingFrame))
    assert spoken == "Blue sky." and shown == "hmm light... "
