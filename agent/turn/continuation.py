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
# Openings of words that ask something by themselves: a question or a request.
STANDALONE_OPENING = re.compile(
    r"^\W*(?:what|why|how|who|whom|whose|where|when|which|is|are|was|were|am|do|does|did|"
    r"can|could|will|would|should|shall|may|might|must|have|has|tell|explain|show|teach|"
    r"give|please|let's|let)\b",
    re.I,
)
# Shortest time from hearing the tutor to answering it: the tutor's first audio reaches the
# learner about 0.15 s after the commit, and people take over 0.4 s to start speaking.
DEFAULT_WINDOW_S = 0.5
# Words that cannot stand alone ("make their food?", "the speed of light") may come later:
# whatever the tutor had begun, the learner was still finishing their sentence.
DEFAULT_FRAGMENT_WINDOW_S = 1.2
# Longest a barge-in takes to be judged after its onset (speech/barge_in.py: the speech's
# words, waited for up to no_words_wait_s after it stops).
JUDGED_WITHIN_S = 2.5
# How far before the VAD's confirmation a voiced window may be and still be its onset
# (start_secs and Pipecat's volume smoothing come between).
ONSET_LEAD_S = 0.6
VOICE_GAP_S = 0.3  # quiet between voiced windows that starts a new run of them


def joined(first: str, rest: str) -> str:
    """The two parts of a question as one: the first's closing punctuation dropped, the
    rest going on in lower case ("How do you plan?" + "Make their food?")."""
    head = first.strip().rstrip(".?!…,;: ")
    tail = rest.strip()
    if tail[:1].isupper() and not re.match(r"^(?:I\b|I'|[A-Z]{2})", tail):
        tail = tail[0].lower() + tail[1:]
    return f"{head} {tail}".strip()


def stands_alone(words: str) -> bool:
    """Whether words open as a question or request of their own ("Why is that?", "Tell me
    more"), unlike the rest of a sentence ("make their food?", "the speed of light")."""
    return bool(STANDALONE_OPENING.match(words))


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
    """Times one session's turns: when a turn was committed, when the learner's voice first
    came back after it, and when the tutor's answer was cut short (monotonic seconds)."""

    window_s: float = DEFAULT_WINDOW_S
    fragment_window_s: float = DEFAULT_FRAGMENT_WINDOW_S
    committed_at: float | None = None
    resumed_at: float | None = None  # the first confirmed voice onset after the commit
    cut_at: float | None = None  # the first interruption after the commit
    joins: int = 0  # turns joined to the one before
    _voice_at: float | None = None  # the first voiced window of the latest run of them
    _voice_last: float | None = None  # the latest voiced window heard while the VAD was quiet

    def committed(self, now: float) -> None:
        self.committed_at, self.resumed_at, self.cut_at = now, None, None

    def voice_heard(self, now: float) -> None:
        """A voiced window while the VAD is quiet: the first of a run is the onset, if the
        VAD confirms it."""
        if self._voice_last is None or now - self._voice_last > VOICE_GAP_S:
            self._voice_at = now
        self._voice_last = now

    def voiced(self, confirmed_at: float, start_secs: float) -> None:
        """The VAD confirmed speech: it began at the voiced window just before, or
        `start_secs` before the confirmation where none was heard."""
        if self.resumed_at is not None or self.committed_at is None:
            return
        onset = confirmed_at - start_secs
        if self._voice_at is not None and confirmed_at - ONSET_LEAD_S <= self._voice_at:
            onset = min(onset, self._voice_at)
        self.resumed_at = onset

    def interrupted(self, now: float) -> None:
        """The tutor's answer stopped for the learner (written, or only partly heard)."""
        if self.cut_at is None and self.committed_at is not None:
            self.cut_at = now

    def went_on(self, rest: str) -> bool:
        """Whether the learner spoke again soon enough after the last commit to be going on
        (within the window, or the fragment window for words that cannot stand alone), and
        that speech cut the tutor's answer short (within the time a barge-in takes to judge,
        so the tutor's own voice coming back at its first words, then a question seconds
        later, is not one)."""
        committed, resumed, cut = self.committed_at, self.resumed_at, self.cut_at
        if self.window_s <= 0 or committed is None or resumed is None or cut is None:
            return False
        window = self.window_s if stands_alone(rest) else max(self.window_s, self.fragment_window_s)
        return resumed - committed <= window and cut - resumed <= JUDGED_WITHIN_S

    def join(self, messages: list[Any]) -> tuple[str, str, str] | None:
        """(first part, rest, joined question) when the turn these messages end with goes
        on from the last one, else None."""
        parts = continued_question(messages)
        if parts is None or CORRECTION_OPENING.match(parts[1]) or not parts[1].strip():
            return None
        if not self.went_on(parts[1]):
            return None
        self.joins += 1
        return parts[0], parts[1], joined(*parts)


def with_question(messages: list[Any], question: str) -> list[Any]:
    """The messages with the last one (the learner's) asking `question` instead."""
    return [*messages[:-1], {**messages[-1], "content": question}]
