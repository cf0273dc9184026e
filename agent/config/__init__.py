"""One validated Settings model for the whole service, in sections by concern.

Values come, in rising priority, from the profile preset, an optional TOML file
(`ECO1_CONFIG` or `--config`), `ECO1_*` environment variables, and command-line flags
(agent/config/settings.py). Import from here: `from agent.config import Settings`.
"""

from agent.config.model import (
    DEFAULT_QUALITY_GAINS,
    ControllerSettings,
    LLMSettings,
    RequantizeKind,
)
from agent.config.prompts import TUTOR_SYSTEM_PROMPT
from agent.config.server import FAULT_KINDS, ServerSettings, ToolServerSettings, ToolsSettings
from agent.config.settings import PROFILES, ConfigError, Profile, Settings, load_settings
from agent.config.speech import ASRSettings, TTSSettings, TurnSettings
from agent.config.tutoring import (
    PerceptionSettings,
    PersonalizationSettings,
    RetrievalSettings,
    TutoringSettings,
)

__all__ = [
    "ASRSettings", "ConfigError", "ControllerSettings", "DEFAULT_QUALITY_GAINS", "FAULT_KINDS",
    "LLMSettings", "PROFILES", "PerceptionSettings", "PersonalizationSettings", "Profile",
    "RequantizeKind", "RetrievalSettings", "ServerSettings", "Settings", "TTSSettings",
    "TUTOR_SYSTEM_PROMPT", "ToolServerSettings", "ToolsSettings", "TurnSettings",
    "TutoringSettings", "load_settings",
]  # fmt: skip
