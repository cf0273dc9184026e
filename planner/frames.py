"""Frame types the planner emits."""

from __future__ import annotations

from dataclasses import dataclass, field

from pipecat.frames.frames import DataFrame


@dataclass
class PlanActionFrame(DataFrame):
    """The tutor's chosen action for this turn: it steers the LLM prompt and the gesture."""

    action: str = "explain"
    gesture: str = "open_palms"
    prompt_hint: str = ""
    probabilities: dict[str, float] = field(default_factory=dict)
    beliefs: dict[str, dict[str, float]] = field(default_factory=dict)
