"""MCP at a cluster front's /mcp/: the tutor's tools, each run by the host that owns it.

Session tools (`speak`, `session_state`, `set_persona` for a session) go to the host holding
the session; `list_sessions` asks every host; `ask` and conversation personas go to one host
per conversation, chosen by rendezvous hashing, so a conversation keeps its history while the
set of hosts stays the same; the `transcript://` resource follows the same rules. Each host
runs the call with its own MCP server (tools/), so behaviour and errors are the single-host
service's.
"""

from __future__ import annotations

import asyncio
import hashlib
from typing import Any
from urllib.parse import quote, unquote

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ResourceNotFoundError, ToolError


def rendezvous(key: str, host_ids: list[str]) -> str:
    """The host a key belongs to: highest hash of (host, key); stable as hosts come and go
    except for the keys of a host that left."""
    return max(host_ids, key=lambda h: hashlib.sha256(f"{h}/{key}".encode()).digest())


def unwrapped(reply: dict) -> Any:
    """A host's tool reply as the tool's own return value, or its error as a ToolError."""
    if "error" in reply:
        raise ToolError(reply["error"])
    structured = reply.get("structured")
    if isinstance(structured, dict) and set(structured) == {"result"}:
        return structured["result"]  # the SDK wraps a non-object return as {"result": …}
    return structured if structured is not None else reply.get("text", "")


class HostTools:
    """Finds the host that owns a call and runs it there."""

    def __init__(self, registry: Any) -> None:
        self._registry = registry

    async def on_session(self, session_id: str, name: str, arguments: dict) -> Any:
        handle = await self._registry.handle_of.remote(session_id)
        if handle is None:
            route = await self._registry.route.remote(session_id)
            why = f" (its host was lost: {route['lost']})" if "lost" in route else ""
            raise ToolError(f"no live session {session_id!r}{why}; see list_sessions")
        return unwrapped(await handle.call_tool.remote(name, arguments))

    async def _conversation_host(self, conversation_id: str) -> Any | None:
        """The host that holds an `ask` conversation (rendezvous hashing), None if none is up."""
        handles = await self._registry.handles.remote()
        return handles[rendezvous(conversation_id, sorted(handles))] if handles else None

    async def on_conversation(self, conversation_id: str, name: str, arguments: dict) -> Any:
        if (handle := await self._conversation_host(conversation_id)) is None:
            raise ToolError("no session host is up yet; try again shortly")
        return unwrapped(await handle.call_tool.remote(name, arguments))

    async def transcript(self, conversation_id: str) -> str:
        """A live session's transcript from its host, else an `ask` conversation's from the
        host that holds the conversation."""
        uri = f"transcript://{quote(conversation_id, safe='')}"
        handle = await self._registry.handle_of.remote(conversation_id)
        if handle is None and (handle := await self._conversation_host(conversation_id)) is None:
            raise ResourceNotFoundError("no session host is up yet")
        reply = await handle.read_resource.remote(uri)
        if "error" in reply:
            raise ResourceNotFoundError(reply["error"])
        return reply["text"]

    async def on_every_host(self, name: str) -> list:
        handles = list((await self._registry.handles.remote()).values())
        replies = await asyncio.gather(*(h.call_tool.remote(name, {}) for h in handles))
        return [item for reply in replies for item in (unwrapped(reply) or [])]


def build_front_mcp_server(registry: Any) -> MCPServer:
    """The same tools as one host's (tools/mcp_server.py), routed across the cluster."""
    hosts = HostTools(registry)
    server = MCPServer(
        "eco1", title="Eco-1 avatar tutor (cluster)", version="0.1.0",
        instructions="Ask the tutor questions with `ask`; drive a learner's live avatar "
        "with `speak`; inspect sessions with `list_sessions` and `session_state`.",
    )  # fmt: skip

    @server.tool()
    async def ask(question: str, conversation_id: str = "default") -> dict[str, Any]:
        """Ask the tutor a question in text: its answer, action and face summary."""
        arguments = {"question": question, "conversation_id": conversation_id}
        return await hosts.on_conversation(conversation_id, "ask", arguments)

    @server.tool()
    async def speak(session_id: str, text: str) -> str:
        """Make a live session's avatar say `text` to its learner, with voice and lip sync."""
        arguments = {"session_id": session_id, "text": text}
        return await hosts.on_session(session_id, "speak", arguments)

    @server.tool()
    async def list_sessions() -> list[dict[str, Any]]:
        """Live learner sessions on every host and how many turns each has had."""
        return await hosts.on_every_host("list_sessions")

    @server.tool()
    async def session_state(session_id: str) -> dict[str, Any]:
        """A live session's transcript, the planner's beliefs and its last decisions."""
        return await hosts.on_session(session_id, "session_state", {"session_id": session_id})

    @server.tool()
    async def set_persona(
        persona: str, session_id: str | None = None, conversation_id: str = "default"
    ) -> str:
        """Give the tutor a persona: for a live session if session_id is set, otherwise for
        an `ask` conversation."""
        arguments = {"persona": persona, "session_id": session_id,
                     "conversation_id": conversation_id}  # fmt: skip
        if session_id is not None:
            return await hosts.on_session(session_id, "set_persona", arguments)
        return await hosts.on_conversation(conversation_id, "set_persona", arguments)

    @server.resource("transcript://{conversation_id}", mime_type="application/json")
    async def conversation_transcript(conversation_id: str) -> str:
        """The transcript of a live session (by session id, its "#" sent as %23) or of an
        `ask` conversation."""
        return await hosts.transcript(unquote(conversation_id))

    return server
