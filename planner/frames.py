"""Frame types the planner emits."""

from __future__ import annotations

from dataclasses import dataclass, field

from pipecat.frames.frames import DataFrame, SystemFrame


@dataclass
class PlanActionFrame(DataFrame):
    """The tutor's chosen action for this turn: it steers the LLM prompt and the gesture."""

    action: str = "explain"
    gesture: str = "open_palms"
    probabilities: dict[str, float] = field(default_factory=dict)
    beliefs: dict[str, dict[str, float]] = field(default_factory=dict)


@dataclass
class LikelyActionFrame(SystemFrame):
    """The action the planner would choose for the learner's next turn if it is a question
    (the usual case), sent when the tutor stops speaking and again when the learner starts
    (the silence they took can change it): the LLM reads its instruction into the next prompt
    ahead. A system frame, so the interruption that starts the learner's turn does not drop
    it."""

    action: str = ""
