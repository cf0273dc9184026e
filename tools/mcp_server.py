"""The avatar as MCP tools (mcp 2.x `MCPServer`), over stdio (`eco1 mcp`) or HTTP at /mcp.

Tools: `ask` (typed question → answer, action, motion summary, through the same planner and
LLM as a live turn, without audio), `speak` (a live session's avatar says the text),
`list_sessions`, `session_state`, `set_persona`. Resources: transcripts. Prompts: tutoring
styles.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ResourceNotFoundError, ToolError

from agent.session import control as session_control
from agent.session.manager import SessionManager
from agent.session.text_tutor import TextTutor

STYLES = {
    "socratic": "Teach by asking one guiding question at a time; never give the answer first.",
    "concise": "Answer in one short sentence, then stop.",
    "encouraging": "Praise effort warmly, then explain simply and invite another try.",
}


def build_mcp_server(tutor: TextTutor, sessions: SessionManager | None = None) -> MCPServer:
    """An MCP server over the text tutor and, when given, the live session manager."""
    server = MCPServer(
        "eco1",
        title="Eco-1 avatar tutor",
        instructions=(
            "Ask the tutor questions with `ask`; drive a learner's live avatar with `speak`; "
            "inspect sessions with `list_sessions` and `session_state`."
        ),
        version="0.1.0",
    )

    _tutor_tools(server, tutor)
    _session_tools(server, tutor, sessions)
    _transcripts(server, tutor, sessions)
    _style_prompts(server)
    return server


def _live(sessions: SessionManager | None, session_id: str):
    if sessions is None or session_id not in sessions.sessions:
        raise ToolError(f"no live session {session_id!r}; see list_sessions")
    return sessions.sessions[session_id]


def _tutor_tools(server: MCPServer, tutor: TextTutor) -> None:
    @server.tool()
    async def ask(question: str, conversation_id: str = "default") -> dict[str, Any]:
        """Ask the tutor a question in text. Returns its answer, the tutoring action it chose
        (with gesture and beliefs about the learner) and a summary of the face it would make."""
        try:
            return await tutor.ask(question, conversation_id)
        except ValueError as exc:
            raise ToolError(str(exc)) from exc
        except Exception as exc:  # a backend failure: say so instead of a bare tool error
            raise ToolError(f"the tutor could not answer: {exc}") from exc


def _session_tools(server: MCPServer, tutor: TextTutor, sessions: SessionManager | None) -> None:
    @server.tool()
    async def speak(session_id: str, text: str) -> str:
        """Make a live session's avatar say `text` to its learner, with voice and lip sync."""
        try:
            limit = sessions.settings.server.max_queued_speech_s if sessions else 60.0
            await session_control.speak(_live(sessions, session_id), text, limit)
        except ValueError as exc:
            raise ToolError(str(exc)) from exc
        return f"speaking to {session_id}"

    @server.tool()
    def list_sessions() -> list[dict[str, Any]]:
        """Live learner sessions and how many turns each has had."""
        if sessions is None:
            return []
        return [{"session_id": sid, "turns": len(s.turns)} for sid, s in sessions.sessions.items()]

    @server.tool()
    def session_state(session_id: str) -> dict[str, Any]:
        """A live session's transcript, the planner's beliefs and its last decisions."""
        return session_control.state(_live(sessions, session_id))

    @server.tool()
    def set_persona(
        persona: str, session_id: str | None = None, conversation_id: str = "default"
    ) -> str:
        """Give the tutor a persona (system prompt): for a live session if session_id is set,
        otherwise for an `ask` conversation."""
        try:
            if session_id is not None:
                live = _live(sessions, session_id)
                session_control.set_persona(live, persona, tutor.max_persona_chars)
                return f"persona set for session {session_id}"
            tutor.set_persona(conversation_id, persona)
        except ValueError as exc:
            raise ToolError(str(exc)) from exc
        return f"persona set for conversation {conversation_id}"


def _transcripts(server: MCPServer, tutor: TextTutor, sessions: SessionManager | None) -> None:
    @server.resource("transcript://{conversation_id}", mime_type="application/json")
    def conversation_transcript(conversation_id: str) -> list[dict[str, str]]:
        """The transcript of a live session (by session id) or of an `ask` conversation."""
        conversation_id = unquote(conversation_id)  # session ids hold "#": sent as %23
        if sessions is not None and conversation_id in sessions.sessions:
            return session_control.transcript(sessions.sessions[conversation_id])
        lines = tutor.transcript(conversation_id)
        if not lines:
            raise ResourceNotFoundError(f"no transcript for {conversation_id!r}")
        return [{"role": m["role"], "text": m["content"]} for m in lines]


def _style_prompts(server: MCPServer) -> None:
    for style, instruction in STYLES.items():

        def make(instruction: str = instruction):
            def prompt(topic: str) -> str:
                return f"{instruction} The topic is: {topic}"

            return prompt

        server.prompt(name=f"tutor_{style}", description=f"Tutor in a {style} style")(make())
