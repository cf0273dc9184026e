"""One validated Settings model for the whole service.

Values come, in rising priority, from the profile preset, an optional TOML file
(`ECO1_CONFIG` or `--config`), `ECO1_*` environment variables, and command-line flags.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from agent.config.cluster import ClusterSettings
from agent.config.model import ControllerSettings, LLMSettings
from agent.config.server import ServerSettings, StoreSettings, ToolsSettings
from agent.config.speech import ASRSettings, TTSSettings, TurnSettings
from agent.config.tutoring import (
    PerceptionSettings,
    PersonalizationSettings,
    RetrievalSettings,
    TutoringSettings,
)

Profile = Literal["nano", "eco"]


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
    store: StoreSettings = StoreSettings()
    cluster: ClusterSettings = ClusterSettings()
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
