"""A learner who goes on after a pause the tutor took for the end of their turn.

Some mid-sentence pauses read as finished in both sound and words: tiny.en hears "How do
plants …" as "How do you plan?", smart-turn hears a falling pitch, and the turn ends 0.3 s
into the pause; "… make their food?" then arrives as a turn of its own, and answered alone
it is a riddle. Nothing in the first part tells the two apart (a question that ends in a
pause looks like one that ends); what follows does. A learner who starts speaking again
within a moment of the commit, before the tutor's answer could have been heard and reacted
to, was still asking: their next words are the rest of the same question, and the tutor
answers the two parts joined. A learner who reacts to the answer ("No, I meant the Sun")
speaks later than that, and words that open as a correction are never joined.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from planner.observations import text_of

# Openings of a learner reacting to the tutor, not going on with their question.
CORRECTION_OPENING = re.compile(
    r"^\W*(?:no|nope|wait|stop|hold on|hang on|sorry|actually|never ?mind|what)\b", re.I
)
# Shortest time from hearing the tutor to answering it: the tutor's first audio reaches the
# learner about 0.15 s after the commit, and people take over 0.4 s to start speaking.
DEFAULT_WINDOW_S = 0.5


def joined(first: str, rest: str) -> str:
    """The two parts of a question as one: the first's closing punctuation dropped, the
    rest going on in lower case ("How do you plan?" + "Make their food?")."""
    head = first.strip().rstrip(".?!…,;: ")
    tail = rest.strip()
    if tail[:1].isupper() and not re.match(r"^(?:I\b|I'|[A-Z]{2})", tail):
        tail = tail[0].lower() + tail[1:]
    return f"{head} {tail}".strip()


def continued_question(messages: list[Any]) -> tuple[str, str] | None:
    """(first part, rest) when the messages end with the learner's turn right after their
    previous one (the tutor's cut-short reply, if any, between): else None."""
    if not messages or not _is_user(messages[-1]):
        return None
    before = messages[-2] if len(messages) >= 2 else None
    if before is not None and not _is_user(before):
        before = messages[-3] if len(messages) >= 3 and _is_user(messages[-3]) else None
    if before is None:
        return None
    return text_of(before.get("content")), text_of(messages[-1].get("content"))


def _is_user(message: Any) -> bool:
    return isinstance(message, dict) and message.get("role") == "user"


@dataclass
class ContinuationWatch:
    """Times one session's turns: when a turn was committed, whether its answer was cut
    short, and when the learner's voice came back after it (monotonic seconds)."""

    window_s: float = DEFAULT_WINDOW_S
    committed_at: float | None = None
    cut_short: bool = False  # the answer to that turn was interrupted
    resumed_at: float | None = None
    joins: int = 0  # turns joined to the one before

    def committed(self, now: float) -> None:
        self.committed_at, self.resumed_at, self.cut_short = now, None, False

    def interrupted(self) -> None:
        """The tutor's answer stopped for the learner (written, or only partly heard)."""
        if self.committed_at is not None:
            self.cut_short = True

    def voiced(self, onset: float) -> None:
        """The learner's voice started at `onset` (the VAD's report less its start delay)."""
        if self.resumed_at is None and self.committed_at is not None:
            self.resumed_at = onset

    def went_on(self) -> bool:
        """Whether the learner spoke again within the window of the last commit, with the
        tutor's answer to it cut short."""
        if self.window_s <= 0 or not self.cut_short:
            return False
        if self.committed_at is None or self.resumed_at is None:
            return False
        return self.resumed_at - self.committed_at <= self.window_s

    def join(self, messages: list[Any]) -> tuple[str, str, str] | None:
        """(first part, rest, joined question) when the turn these messages end with goes
        on from the last one, else None."""
        if not self.went_on():
            return None
        parts = continued_question(messages)
        if parts is None or CORRECTION_OPENING.match(parts[1]) or not parts[1].strip():
            return None
        self.joins += 1
        return parts[0], parts[1], joined(*parts)


def with_question(messages: list[Any], question: str) -> list[Any]:
    """The messages with the last one (the learner's) asking `question` instead."""
    return [*messages[:-1], {**messages[-1], "content": question}]
