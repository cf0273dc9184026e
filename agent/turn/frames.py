"""Frames the tutor's LLM stage emits besides its spoken text (never spoken themselves)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pipecat.frames.frames import DataFrame


@dataclass
class ThinkingFrame(DataFrame):
    """A piece of the model's thought; the page may show it, TTS never sees it."""

    text: str = ""


@dataclass
class CitationsFrame(DataFrame):
    """The knowledge-base passages this turn's answer was given, numbered as in the prompt."""

    citations: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class ControllerDecisionFrame(DataFrame):
    """What the HLLM controller decided for this turn, and the prices it decided under."""

    report: dict[str, Any] = field(default_factory=dict)


@dataclass
class TeachingFrame(DataFrame):
    """What the curriculum made of this turn: concept, facet, mode, a graded answer."""

    teaching: dict[str, Any] = field(default_factory=dict)


@dataclass
class ContinuedTurnFrame(DataFrame):
    """The learner went on right after the turn was committed: the two parts are answered
    as one question (agent/turn/continuation.py)."""

    first: str = ""
    rest: str = ""
    question: str = ""
