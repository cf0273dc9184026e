"""The tutor calling a small MCP tool server (shipped in tests/fixtures) during a turn."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest
from pipecat.frames.frames import LLMContextFrame
from pipecat.processors.aggregators.llm_context import LLMContext
from pipecat.tests.utils import run_test

from agent.config import ConfigError, load_settings
from agent.edge.startup import turn_toolbox
from agent.turn.service import TutorLLMService
from tools.mcp_client import ToolSpec, TurnToolbox

SERVER = [sys.executable, str(Path(__file__).parents[1] / "fixtures" / "tool_server.py")]


def spec(tool: str, name: str = "facts") -> ToolSpec:
    return ToolSpec(name=name, tool=tool, command=SERVER)


async def test_a_turn_gets_facts_from_a_stdio_tool_server():
    toolbox = TurnToolbox([spec("lookup")], budget_s=5.0)
    await toolbox.start()
    try:
        facts = await toolbox.context_for("How do plants eat?")
    finally:
        await toolbox.close()
    assert facts == [
        "facts: Plants make glucose from carbon dioxide and water using light, in chloroplasts."
    ]


async def test_hanging_and_failing_tools_cost_only_their_facts():
    toolbox = TurnToolbox(
        [spec("lookup", "good"), spec("slow_lookup", "slow"), spec("broken_lookup", "broken")],
        budget_s=1.0,
    )
    await toolbox.start()
    try:
        started = time.monotonic()
        facts = await toolbox.context_for("Why is the sky blue?")
        elapsed = time.monotonic() - started
        again = await toolbox.context_for("Tell me about plants")  # the toolbox still works
    finally:
        await toolbox.close()
    assert facts == [
        "good: Air molecules scatter blue light more than red light (Rayleigh scattering)."
    ]
    assert elapsed < 3.0  # the budget, not the hanging tool, decided
    assert again and again[0].startswith("good: Plants")


async def test_an_unreachable_server_degrades_to_no_facts():
    toolbox = TurnToolbox(
        [ToolSpec(name="gone", tool="lookup", command=["/nonexistent/tool"])], 0.5
    )
    await toolbox.start()
    try:
        assert await toolbox.context_for("plants") == []
    finally:
        await toolbox.close()


async def test_facts_reach_the_llm_prompt():
    seen = []

    class Backend:
        name = "scripted"

        async def stream(self, messages, *, max_tokens, temperature):
            seen.append(messages)
            yield "ok"

        async def warm_up(self):
            pass

        async def close(self):
            pass

    async def provider(text):
        return [f"facts: about {text}"]

    service = TutorLLMService(Backend(), system_prompt="SYS", max_tokens=5, temperature=0.0,
                              context_provider=provider)  # fmt: skip
    context = LLMContext(messages=[{"role": "user", "content": "plants"}])
    await run_test(service, frames_to_send=[LLMContextFrame(context)], expected_down_frames=None)
    assert seen[0][0]["content"] == "SYS"
    assert seen[0][1]["content"] == "Facts you may use (from tools): facts: about plants"


def test_tool_servers_come_from_settings():
    settings = load_settings(overrides={"tools": {"servers": [
        {"name": "facts", "tool": "lookup", "command": SERVER}]}})  # fmt: skip
    assert turn_toolbox(settings) is not None
    assert turn_toolbox(load_settings()) is None
    with pytest.raises(ConfigError, match="exactly one of command or url"):
        load_settings(overrides={"tools": {"servers": [{"name": "x", "tool": "t"}]}})


@pytest.mark.slow
async def test_live_turn_consults_configured_tools(tmp_path):
    import json

    from evals.harness.server_process import ServerProcess
    from evals.harness.speech_samples import synthesize
    from evals.harness.webrtc_client import TutorClient

    servers = json.dumps([{"name": "facts", "tool": "lookup", "command": SERVER}])
    log = tmp_path / "server.log"
    env = {"ECO1_TOOLS__SERVERS": servers, "ECO1_TOOLS__TURN_BUDGET_S": "2"}
    with ServerProcess(env=env, log_path=log) as server:
        client = TutorClient(server.base_url, server.token)
        await client.connect()
        try:
            await client.say(synthesize("What do plants need to grow?"))
            await client.wait_event("latency", 60)
        finally:
            await client.close()
    assert "tool facts for this turn" in log.read_text() and "chloroplasts" in log.read_text()
