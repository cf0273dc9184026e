"""Frame types the planner emits."""

from __future__ import annotations

from dataclasses import dataclass, field

from pipecat.frames.frames import DataFrame, SystemFrame


@dataclass
class PlanActionFrame(DataFrame):
    """The tutor's chosen action for this turn: it steers the LLM prompt and the gesture."""

    action: str = "explain"
    gesture: str = "open_palms"
    prompt_hint: str = ""
    probabilities: dict[str, float] = field(default_factory=dict)
    beliefs: dict[str, dict[str, float]] = field(default_factory=dict)


@dataclass
class LikelyHintFrame(SystemFrame):
    """The hint the planner would give the turn the learner has just begun, if it is a
    question (the usual case): the LLM reads it into the next prompt while they speak. A
    system frame, so the interruption that starts the learner's turn does not drop it."""

    prompt_hint: str = ""
