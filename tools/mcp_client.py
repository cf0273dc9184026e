"""The tutor calling external MCP tools during a turn, within a latency budget.

A small local model cannot be trusted to plan tool calls, so tools serve as context
providers: each configured server names one tool and which of its parameters receives the
learner's words; every turn, all of them are called at once and whatever answers within the
budget is added to the LLM's context. A tool that fails or hangs costs that turn its facts,
never the session. One background task per server owns its MCP connection, so calls from
any session's task are safe.

This module imports nothing from agent/ (agent/ calls it).
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from typing import Any

from loguru import logger
from mcp import Client, StdioServerParameters

MAX_FACT_CHARS = 600


@dataclass
class ToolSpec:
    """One external tool: where its server is (command for stdio, or url) and how to call it."""

    name: str
    tool: str
    argument: str = "query"
    command: list[str] | None = None
    url: str | None = None
    headers: dict[str, str] = field(default_factory=dict)

    def target(self) -> Any:
        if self.command:
            return StdioServerParameters(command=self.command[0], args=self.command[1:])
        if self.url:
            import httpx2
            from mcp.client.streamable_http import streamable_http_client

            return streamable_http_client(
                self.url, http_client=httpx2.AsyncClient(headers=self.headers)
            )
        raise ValueError(f"tool server {self.name!r} needs a command or a url")


def result_text(result: Any) -> str:
    """The text parts of a CallToolResult, joined and bounded."""
    parts = [getattr(item, "text", "") for item in getattr(result, "content", []) or []]
    return " ".join(p.strip() for p in parts if p and p.strip())[:MAX_FACT_CHARS]


class _ServerConnection:
    """Owns one server's MCP client in its own task; calls come in through a queue."""

    def __init__(self, spec: ToolSpec, call_timeout_s: float) -> None:
        self.spec = spec
        self.ready = asyncio.Event()
        self.error: Exception | None = None
        self._calls: asyncio.Queue = asyncio.Queue()
        self._call_timeout_s = call_timeout_s
        self._task: asyncio.Task | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"mcp-tool-{self.spec.name}")

    async def _run(self) -> None:
        try:
            async with Client(
                self.spec.target(), read_timeout_seconds=self._call_timeout_s
            ) as client:
                self.ready.set()
                while True:
                    text, future = await self._calls.get()
                    try:
                        result = await client.call_tool(self.spec.tool, {self.spec.argument: text})
                        if not future.done():
                            future.set_result(result)
                    except Exception as exc:  # reported to the caller, the connection lives on
                        if not future.done():
                            future.set_exception(exc)
        except Exception as exc:
            self.error = exc
            logger.warning("tool server {} unavailable: {}", self.spec.name, exc)
        finally:
            self.ready.set()

    async def call(self, text: str) -> Any:
        if self.error is not None:
            raise RuntimeError(f"tool server {self.spec.name} is unavailable: {self.error}")
        future = asyncio.get_running_loop().create_future()
        await self._calls.put((text, future))
        return await future

    async def close(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task


class TurnToolbox:
    """Calls every configured tool for a turn and keeps what answers within the budget."""

    def __init__(self, specs: list[ToolSpec], budget_s: float, connect_timeout_s: float = 20.0):
        self._connections = [_ServerConnection(s, max(5.0, budget_s * 10)) for s in specs]
        self._budget_s = budget_s
        self._connect_timeout_s = connect_timeout_s

    async def start(self) -> None:
        for connection in self._connections:
            connection.start()
        waits = [c.ready.wait() for c in self._connections]
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.gather(*waits), self._connect_timeout_s)

    async def context_for(self, text: str) -> list[str]:
        """Facts from the tools for this learner turn; missing ones are logged and skipped."""
        if not text.strip() or not self._connections:
            return []
        calls = {asyncio.ensure_future(c.call(text)): c.spec for c in self._connections}
        done, pending = await asyncio.wait(calls, timeout=self._budget_s)
        for late in pending:
            late.cancel()
            logger.warning(
                "tool {} gave no answer within {:.0f} ms", calls[late].name, self._budget_s * 1000
            )
        facts = []
        for finished in done:
            spec = calls[finished]
            if finished.exception() is not None:
                logger.warning("tool {} failed: {}", spec.name, finished.exception())
            elif getattr(finished.result(), "is_error", False):
                logger.warning(
                    "tool {} returned an error: {}", spec.name, result_text(finished.result())
                )
            elif fact := result_text(finished.result()):
                facts.append(f"{spec.name}: {fact}")
        return facts

    async def close(self) -> None:
        for connection in self._connections:
            await connection.close()
