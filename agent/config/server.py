"""The HTTP service's limits, admission and access, and the MCP tools a turn may call."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator, model_validator

from agent.config.section import Section

FAULT_KINDS = ("llm_error", "llm_timeout", "tts_error")  # agent/turn/faults.py injects them


class StoreSettings(Section):
    """Where sessions and their events are kept (agent/session/store.py)."""

    url: str | None = Field(
        default=None,
        description="a postgresql:// URL: hosts that share learners keep sessions and events "
        "there; unset, one host keeps them in the SQLite file `server.db_path`",
    )

    @field_validator("url")
    @classmethod
    def _postgres(cls, url: str | None) -> str | None:
        if url and not url.startswith(("postgresql://", "postgres://")):
            raise ValueError("store.url must be a postgresql:// URL (or unset for SQLite)")
        return url or None


class ServerSettings(Section):
    """HTTP server limits."""

    max_sessions: int = Field(default=8, ge=1, le=10000)
    max_sdp_bytes: int = Field(default=64 * 1024, ge=1024, le=1024 * 1024)
    native_threads: int = Field(
        default=1,
        ge=0,
        le=256,
        description="OpenMP threads per library (torch, CTranslate2) in `eco1 serve`; "
        "0 = their defaults (one per core each)",
    )
    malloc_arenas: int = Field(
        default=2, ge=0, le=64,
        description="cap on glibc malloc arenas, which keeps memory flat over many sessions "
        "(docs/reliability.md); 0 = glibc's default",
    )  # fmt: skip
    session_idle_timeout_s: float = Field(default=300.0, gt=0)
    connect_timeout_s: float = Field(
        default=15.0, gt=0, le=120,
        description="a WebRTC peer that has not connected (ICE and DTLS) by then is ended "
        "and its slot freed",
    )  # fmt: skip
    liveness_timeout_s: float = Field(
        default=5.0, gt=0, description="a client that pings and then stops is gone after this"
    )
    allowed_origins: list[str] = Field(
        default_factory=list,
        description="browser origins allowed to open sessions; empty allows any (development)",
    )
    offers_per_minute: int = Field(
        default=30, ge=1, le=100000, description="new sessions per client address per minute"
    )
    db_path: Path = Field(
        default=Path("data/eco1.sqlite3"), description="SQLite file for sessions and events"
    )
    api_token: str | None = Field(
        default=None,
        min_length=16,
        description="token for /api/offer, /ws, session data and /mcp/ (Bearer header or "
        "?token=); `eco1 serve` makes one at start when unset, unless open_access",
    )
    open_access: bool = Field(
        default=False, description="serve without a token (a trusted network only)"
    )
    mcp_token: str | None = Field(
        default=None,
        min_length=16,
        description="bearer token for MCP over HTTP at /mcp/ (default: api_token)",
    )
    max_conversations: int = Field(
        default=1000, ge=1, le=1_000_000,
        description="MCP `ask` conversations kept; the least recently used is forgotten first",
    )  # fmt: skip
    max_persona_chars: int = Field(
        default=2000, ge=100, le=100_000,
        description="longest persona (system prompt) set_persona takes; it must fit the "
        "LLM's context beside the notes and the conversation",
    )  # fmt: skip
    max_queued_speech_s: float = Field(
        default=60.0, ge=1.0, le=3600.0,
        description="most speech MCP `speak` may queue on one session, in seconds of audio "
        "(estimated from its words); more is refused until it has been said",
    )  # fmt: skip
    ice_servers: list[str] = Field(
        default_factory=list, description="STUN/TURN URLs; empty for loopback and LAN"
    )
    ice_username: str | None = Field(
        default=None, description="the TURN servers' user name (coturn's static user)"
    )
    ice_credential: str | None = Field(
        default=None, description="the TURN servers' password; given to pages with the token"
    )
    audio_jitter_packets: int = Field(
        default=2, ge=1, le=8,
        description="20 ms packets of the learner's audio the server holds before decoding "
        "(aiortc's jitter buffer prefetches 4: 80 ms of every turn and barge-in); more rides "
        "out a jittery network, fewer hears the learner sooner",
    )  # fmt: skip
    faults: dict[str, float] = Field(
        default_factory=dict,
        description="testing only: rates of injected llm_error, llm_timeout, tts_error",
    )

    @field_validator("faults")
    @classmethod
    def _known_faults(cls, value: dict[str, float]) -> dict[str, float]:
        for kind, rate in value.items():
            if kind not in FAULT_KINDS:
                raise ValueError(f"unknown fault {kind!r}; known: {', '.join(FAULT_KINDS)}")
            if not 0.0 <= rate <= 1.0:
                raise ValueError(f"fault rate for {kind} must be in [0, 1], got {rate}")
        return value


class ToolServerSettings(Section):
    """An external MCP server whose tool adds facts to every turn (see docs/mcp.md)."""

    name: str = Field(min_length=1)
    tool: str = Field(min_length=1, description="the tool called each turn")
    argument: str = Field(default="query", description="its parameter for the learner's words")
    command: list[str] | None = Field(default=None, description="stdio: the command to launch")
    url: str | None = Field(default=None, description="streamable HTTP endpoint")
    bearer_token: str | None = None

    @model_validator(mode="after")
    def _one_transport(self) -> ToolServerSettings:
        if bool(self.command) == bool(self.url):
            raise ValueError(f"tool server {self.name!r} needs exactly one of command or url")
        return self


class ToolsSettings(Section):
    servers: list[ToolServerSettings] = Field(default_factory=list)
    turn_budget_s: float = Field(
        default=0.4, gt=0, le=30, description="how long a turn waits for tool answers"
    )
