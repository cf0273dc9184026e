"""What the planner can observe of a learner turn, from dialogue and timing.

Heuristic until perception lands: the transcript says whether the learner asked something
and whether an answer sounded unsure; the gap before they spoke is the silence; the face is
assumed present. Answer correctness is not graded: after a check question, an unhedged
reply counts as correct and a hedged one ("I don't know") as wrong.
"""

from __future__ import annotations

from typing import Any

QUESTION_STARTS = ("what", "why", "how", "when", "where", "who", "which", "can", "could",
                   "is", "are", "do", "does", "did", "will", "would", "should")  # fmt: skip
HEDGES = ("don't know", "dont know", "not sure", "no idea", "i forgot", "confused", "i guess")


def dialogue_observation(
    text: str, last_action: str | None, silence_s: float, face_present: bool = True
) -> dict[str, str]:
    """Observation levels by modality name (see planner/model.py MODALITIES)."""
    lowered = text.strip().lower()
    words = lowered.rstrip("?.!").split()
    asked = lowered.endswith("?") or (bool(words) and words[0] in QUESTION_STARTS)
    hedged = any(hedge in lowered for hedge in HEDGES)
    if not words:
        answer = "none"
    elif hedged:
        answer = "wrong"
    elif last_action == "check" and not asked:
        answer = "correct"
    else:
        answer = "none"
    silence = "short" if silence_s < 2.0 else "medium" if silence_s < 6.0 else "long"
    return {
        "answer": answer,
        "question": "yes" if asked else "no",
        "silence": silence,
        "face": "present" if face_present else "absent",
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
