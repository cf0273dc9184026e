"""What the planner can observe of a learner turn besides a graded answer.

The learner's signals (silence, a face) come from timing and perception. When no check
question can be graded (no curriculum, or a preview before the words are final), the
transcript says whether the learner asked something and whether an answer sounded unsure:
after a check question, an unhedged reply counts as correct and a hedged one ("I don't
know") as wrong. The curriculum's turn grades answers properly (agent/tutoring/grading.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

QUESTION_STARTS = ("what", "why", "how", "when", "where", "who", "which", "can", "could",
                   "is", "are", "do", "does", "did", "will", "would", "should")  # fmt: skip
HEDGES = ("don't know", "dont know", "not sure", "no idea", "i forgot", "confused", "i guess")


@dataclass
class LearnerSignals:
    """What timing and perception tell the planner about a turn, besides the words; one per
    session, updated as frames arrive (planner/processor.py)."""

    silence_s: float = 0.0  # how long the learner was quiet after the tutor stopped
    face_present: bool = True  # a camera that sees no face says so; none assumes one

    @property
    def silence(self) -> str:
        return "short" if self.silence_s < 2.0 else "medium" if self.silence_s < 6.0 else "long"

    @property
    def face(self) -> str:
        return "present" if self.face_present else "absent"


def asked_something(text: str) -> bool:
    lowered = text.strip().lower()
    words = lowered.rstrip("?.!").split()
    return lowered.endswith("?") or (bool(words) and words[0] in QUESTION_STARTS)


def dialogue_observation(
    text: str, last_action: str | None, signals: LearnerSignals
) -> dict[str, str]:
    """Observation levels by modality name (see planner/model.py MODALITIES)."""
    lowered = text.strip().lower()
    asked = asked_something(text)
    if last_action != "check":
        answer = "unasked"
    elif not lowered.rstrip("?.!").split():
        answer = "none"
    elif any(hedge in lowered for hedge in HEDGES):
        answer = "wrong"
    else:
        answer = "none" if asked else "correct"
    return {
        "answer": answer,
        "question": "yes" if asked else "no",
        "silence": signals.silence,
        "face": signals.face,
    }


def text_of(content: Any) -> str:
    """Plain text of a context message's content (a string or a list of typed parts)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(part.get("text", "") for part in content if isinstance(part, dict))
    return ""


def last_user_text(messages: list[Any]) -> str:
    """What the learner said last, from an LLM context's messages."""
    for message in reversed(messages):
        if isinstance(message, dict) and message.get("role") == "user":
            return text_of(message.get("content"))
    return ""
