"""Interruptions that are real: pause at once, then decide whether the learner meant it.

While the tutor speaks, the learner's voice may be a barge-in ("wait, what about…"), a
backchannel ("uh-huh", "okay"), a cough, or the tutor's own voice coming back from the
speakers. Stopping on every VAD start cuts the tutor off for all of them; waiting for words
makes a real barge-in wait for the ASR. So, as LiveKit Agents does, the tutor's audio is
*paused* the moment the VAD hears voice (the output's writes wait on a gate): at its first
voiced window (Silero's confidence and the window's own loudness, not Pipecat's smoothed
400 ms volume), before the VAD's `start_secs` confirm it as speech; voice that fades before it
is confirmed opens the gate again after a short hold (a cough or a click is a stutter, not a
stop; the hold outlasts the comma in "Wait, … what about", which otherwise let the tutor
speak again between the two). Confirmed speech is then judged:

- speech that goes on past `barge_in_s`, or whose words are more than a backchannel and not
  an echo of what the tutor was saying, is a barge-in: the turn starts and the interruption
  clears the paused audio. Brief speech (under `min_barge_in_s`, as LiveKit Agents' minimum
  interruption duration) must also say something that interrupts ("wait", "why", "no", or
  four words or more); speech between that and `barge_in_s` must do so or carry two content
  words (LiveKit's minimum interruption words, not counting "in", "my", "the"): a murmur
  over noise that the recogniser turns into a word or two ("Other.", "In my mom.") is not
  a barge-in, while "tell me more" is;
- speech that ends sooner with no words, a backchannel, or the tutor's own words is a false
  interruption: the gate opens and the tutor's sentence goes on where it paused, and the
  words are dropped from the learner's turn.

When the tutor is silent, speech starts the learner's turn at once, as before.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from pipecat.audio.vad.vad_analyzer import VADState
from pipecat.frames.frames import (
    BotStartedSpeakingFrame,
    BotStoppedSpeakingFrame,
    Frame,
    InterimTranscriptionFrame,
    InterruptionFrame,
    TranscriptionFrame,
    TTSTextFrame,
    VADUserStartedSpeakingFrame,
    VADUserStoppedSpeakingFrame,
)
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor
from pipecat.turns.types import ProcessFrameResult
from pipecat.turns.user_start.base_user_turn_start_strategy import BaseUserTurnStartStrategy

from speech.frames import ProvisionalTranscriptFrame

BACKCHANNELS = frozenset(
    "uh huh uhhuh mhm mm mmm hmm hm okay ok yeah yes yep right sure oh ah i see cool nice "
    "wow got it alright all".split()
    # what Whisper makes of a short noise or a murmur: not a question either
    + "thank thanks you".split()
)
ECHO_SHARE = 0.7  # this share of the word pairs heard were the tutor's own: an echo
# Words that interrupt even when said briefly: stop requests, questions, disagreement.
INTERRUPTION_CUES = frozenset(
    "wait stop hold hang no nope not don't can't isn't wrong but actually sorry excuse pardon "
    "what why how when where who which question again repeat slower louder help mean "
    "confused understand".split()
)
CUE_WORDS = 4  # this many words that are not a backchannel interrupt whatever they say
MIN_CONTENT_WORDS = 2  # speech short of barge_in_s needs this many, or a cue
# Words that carry no request of their own: what a murmur's transcript is made of.
FUNCTION_WORDS = frozenset(
    "a an the in on at of to for from by with into up my your his her its our their me him "
    "us them i you he she it we they this that these those is are was were be been am do "
    "does did has have had and or so if as there here".split()
)
# The commonest words, which a learner's question and the tutor's answer share by chance.
COMMON = frozenset("the a an is are was of to in on and it that this what why how".split())
MAX_PAUSE_S = 4.0  # a pause never outlasts this (the transport calls a stuck write a dead peer)


def words_of(text: str) -> list[str]:
    return re.findall(r"[a-z']+", text.lower())


# How Whisper spells a murmur: "Mmmm", "Uh-uh", "Hmmm", "Ahh", "Mhmm", "Huh", "Aha".
MURMUR = re.compile(r"^(?:m+h*m*|h+m+|h*u+h*|a+h+a*|o+h+|e+r+m*)$")


def heard_words(text: str) -> list[str]:
    """What the learner said, word by word; "uh-huh" is two listener noises."""
    return words_of(text.replace("-", " "))


def listener_noise(word: str) -> bool:
    return word in BACKCHANNELS or bool(MURMUR.match(word))


def interrupts(text: str) -> bool:
    """Words that mean to interrupt even if brief: a cue word, or CUE_WORDS words or more."""
    heard = heard_words(text)
    return len(heard) >= CUE_WORDS or any(word in INTERRUPTION_CUES for word in heard)


def content_words(text: str) -> list[str]:
    """The words that say something: not function words, listener noises or murmurs."""
    return [w for w in heard_words(text) if w not in FUNCTION_WORDS and not listener_noise(w)]


def backchannel(text: str) -> bool:
    """No words (a cough, a breath) or only listener noises: "uh-huh", "okay", "yeah"."""
    return all(listener_noise(word) for word in heard_words(text))


@dataclass
class InterruptionCounts:
    paused: int = 0  # speech heard while the tutor spoke
    barge_ins: int = 0
    resumed: int = 0  # false interruptions: backchannels, noises, echoes
    echoes: int = 0


class PlaybackGate:
    """Holds the tutor's audio between pause() and resume(); knows what it has been saying.

    wrap() puts the gate in front of an output transport's write_audio_frame, so a pause
    takes effect at the next audio chunk, after whatever is already in the peer's buffer.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._open = asyncio.Event()
        self._open.set()
        self._clock = clock
        self.paused_at: float | None = None
        self.said: deque[str] = deque(maxlen=80)  # the tutor's most recent words
        self.counts = InterruptionCounts()
        self._discarded = 0  # discard()s so far: a write that waited across one is dropped

    @property
    def paused(self) -> bool:
        return not self._open.is_set()

    def pause(self) -> None:
        if not self.paused:
            self.paused_at = self._clock()
            self.counts.paused += 1
        self._open.clear()

    def resume(self) -> None:
        self.paused_at = None
        self._open.set()

    def discard(self) -> None:
        """Open the gate for what comes next and drop the chunk that waited at it (the
        interruption's audio must not leak out after the barge-in)."""
        self._discarded += 1
        self.resume()

    def spoke(self, text: str) -> None:
        self.said.extend(words_of(text))

    def echo(self, text: str) -> bool:
        """Whether `text` is mostly the tutor's own recent words in its order (its voice
        heard back): word pairs, so a question sharing "is that" and "why" is not one."""
        heard, said = words_of(text), list(self.said)
        if len(heard) == 1:
            return heard[0] in said and heard[0] not in COMMON
        pairs = list(zip(heard, heard[1:], strict=False))
        own = set(zip(said, said[1:], strict=False))
        return bool(pairs) and sum(pair in own for pair in pairs) / len(pairs) >= ECHO_SHARE

    def wrap(self, write: Callable[[Frame], Awaitable[bool]]) -> Callable[[Frame], Awaitable[bool]]:
        async def gated(frame: Frame) -> bool:
            if self.paused:
                discarded = self._discarded
                try:
                    await asyncio.wait_for(self._open.wait(), MAX_PAUSE_S)
                except TimeoutError:
                    self.resume()
                if self._discarded != discarded:
                    return True  # paused audio of an interrupted answer: never sent
            return await write(frame)

        return gated


class PlaybackTap(FrameProcessor):
    """Before the output transport: tells the gate what the tutor says, and opens it when an
    interruption arrives (the transport then drops what was paused)."""

    def __init__(self, gate: PlaybackGate, **kwargs) -> None:
        super().__init__(**kwargs)
        self._gate = gate

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        if isinstance(frame, TTSTextFrame):
            self._gate.spoke(frame.text)
        elif isinstance(frame, InterruptionFrame):
            self._gate.discard()
        await self.push_frame(frame, direction)


class BargeInStartStrategy(BaseUserTurnStartStrategy):
    """The learner's turn starts on speech, unless the tutor is speaking: then its audio is
    paused and the speech judged (module docstring)."""

    def __init__(
        self, gate: PlaybackGate, *, barge_in_s: float = 0.7, words_wait_s: float = 0.6,
        no_words_wait_s: float = 1.2, onset_hold_s: float = 0.5, min_barge_in_s: float = 0.5,
        **kwargs,
    ) -> None:  # fmt: skip
        """words_wait_s: after the speech stops, how long its words may take; no_words_wait_s:
        the same while nothing at all has been heard (the recogniser is slow on a busy host,
        and judging no words as a cough resumes the tutor over a real barge-in)."""
        super().__init__(**kwargs)
        self._gate = gate
        self._barge_in_s = barge_in_s
        self._words_wait_s = words_wait_s
        self._no_words_wait_s = max(no_words_wait_s, words_wait_s)
        self._tutor_speaking = False
        self._judging = False
        self._heard = ""
        self._timer: asyncio.Task | None = None
        self._min_barge_in_s = min_barge_in_s
        self._speech_began: float | None = None  # while judging: when the speech began
        self._speech_s = 0.0  # how long it has lasted (to its last stop, or to now)
        self.onset_hold_s = onset_hold_s
        self._early = False  # paused on voice not yet confirmed
        # When the early pause ends if no voice confirms it: the loop's own timer handle
        # (uvloop's is not an asyncio.TimerHandle, so it is never type-checked).
        self._early_timer: asyncio.TimerHandle | None = None
        self._voiced = False  # the VAD hears voice now (starting or speaking)
        self._deferred = False  # judged nothing while voice went on: judge again when quiet

    def on_voice(self) -> None:
        """A VAD voice listener (speech/turns.py): a voiced window before the VAD has left
        QUIET pauses the tutor at once; if the VAD never starts, the gate reopens after
        onset_hold_s."""
        if self._judging or not self._tutor_speaking:
            return
        self._pause_early()
        self._hold()

    def on_vad_state(self, previous: VADState, state: VADState) -> None:
        """A VAD listener (speech/turns.py): pause on the first voiced window while the tutor
        speaks; if the voice fades unconfirmed, reopen after onset_hold_s (new voice within
        the hold, as in "Wait, … what about", keeps it paused)."""
        self._voiced = state in (VADState.STARTING, VADState.SPEAKING)
        if self._judging and self._deferred and state == VADState.QUIET:
            self._restart_timer(self._words_wait_s, self._judge)  # the new voice faded
        if self._judging or not self._tutor_speaking:
            return
        if state == VADState.STARTING and previous == VADState.QUIET:
            self._pause_early()
        elif state == VADState.QUIET and self._early and self._early_timer is None:
            self._hold()

    def _pause_early(self) -> None:
        self._cancel_early_timer()
        self._early = True
        self._gate.pause()

    def _hold(self) -> None:
        self._cancel_early_timer()
        self._early_timer = asyncio.get_running_loop().call_later(
            self.onset_hold_s, self._unconfirmed
        )

    def _cancel_early_timer(self) -> None:
        if self._early_timer is not None:
            self._early_timer.cancel()
            self._early_timer = None

    def _unconfirmed(self) -> None:
        self._early_timer = None
        self._early = False
        if not self._judging:
            self._gate.resume()

    async def process_frame(self, frame: Frame) -> ProcessFrameResult:
        if isinstance(frame, BotStartedSpeakingFrame):
            self._tutor_speaking = True
        elif isinstance(frame, BotStoppedSpeakingFrame):
            self._tutor_speaking = self._gate.paused  # paused audio has not finished
        elif isinstance(frame, VADUserStartedSpeakingFrame):
            return await self._speech_started(frame)
        elif isinstance(frame, VADUserStoppedSpeakingFrame) and self._judging:
            if self._speech_began is not None:
                self._speech_s = time.monotonic() - frame.stop_secs - self._speech_began
            wait = self._words_wait_s if self._heard.strip() else self._no_words_wait_s
            self._restart_timer(wait, self._judge)
        elif isinstance(frame, (TranscriptionFrame, InterimTranscriptionFrame)):
            return await self._words(frame.text, final=isinstance(frame, TranscriptionFrame))
        elif isinstance(frame, ProvisionalTranscriptFrame) and self._judging:
            return await self._words(frame.text, final=False)  # the final pass, early
        return ProcessFrameResult.CONTINUE

    async def _speech_started(self, frame: VADUserStartedSpeakingFrame) -> ProcessFrameResult:
        self._settle_early()
        if not self._tutor_speaking:
            await self.trigger_user_turn_started()
            return ProcessFrameResult.STOP
        if not self._judging:
            self._judging, self._heard = True, ""
            self._speech_began, self._speech_s = time.monotonic() - frame.start_secs, 0.0
            self._gate.pause()
        self._restart_timer(self._barge_in_s, self._barge_in)  # speech that goes on
        return ProcessFrameResult.CONTINUE

    async def _words(self, text: str, final: bool) -> ProcessFrameResult:
        if not self._judging:
            if self._tutor_speaking:  # words with no speech start (soft speech)
                self._judging, self._heard = True, ""
                self._gate.pause()
            else:
                await self.trigger_user_turn_started()
                return ProcessFrameResult.STOP
        self._heard = text
        if self._means_it(text):
            await self._barge_in()
            return ProcessFrameResult.STOP
        if final:
            await self._judge()
        return ProcessFrameResult.CONTINUE

    def _means_it(self, text: str) -> bool:
        """Words that make a barge-in: not a backchannel or an echo, and either words that
        interrupt or, in speech that is not brief, two content words."""
        if backchannel(text) or self._gate.echo(text):
            return False
        if interrupts(text):
            return True
        said = len(content_words(text)) >= MIN_CONTENT_WORDS
        return said and self._speech_s >= self._min_barge_in_s

    def _unclear(self, text: str) -> bool:
        """Words that are no barge-in yet and no backchannel or echo either ("Start.")."""
        return bool(heard_words(text)) and not backchannel(text) and not self._gate.echo(text)

    async def _judge(self) -> None:
        """The speech ended: a barge-in if its words say so, else the tutor goes on; but not
        while the learner is speaking again ("Stop, … can you say that again?" heard as
        "Start." then more), nor, for onset_hold_s, after words that are neither a
        backchannel nor an echo (a comma's pause may come next): the gate stays shut and
        what follows is judged."""
        if not self._judging:
            return
        if self._means_it(self._heard):
            await self._barge_in()
            return
        if self._voiced or (self._unclear(self._heard) and not self._deferred):
            self._deferred = True  # judged again when the new voice ends, or after a hold
            if not self._voiced:
                self._restart_timer(self.onset_hold_s, self._judge)
            return
        self._gate.counts.resumed += 1
        self._gate.counts.echoes += bool(self._heard) and self._gate.echo(self._heard)
        self._stop_judging()
        self._gate.resume()
        await self.trigger_reset_aggregation()  # "uh-huh" is not the learner's next question

    async def _barge_in(self) -> None:
        if not self._judging:
            return
        self._stop_judging()
        self._gate.counts.barge_ins += 1
        await self.trigger_user_turn_started()  # the interruption drops the paused audio

    def _settle_early(self) -> None:
        """Confirmed speech takes over an early pause (the judging keeps the gate shut)."""
        self._cancel_early_timer()
        self._early = False

    def _stop_judging(self) -> None:
        self._settle_early()
        self._judging = self._deferred = False
        if self._timer is not None and self._timer is not asyncio.current_task():
            self._timer.cancel()
        self._timer = None

    def _restart_timer(self, delay: float, then: Callable[[], Awaitable[None]]) -> None:
        if self._timer is not None and self._timer is not asyncio.current_task():
            self._timer.cancel()

        async def later() -> None:
            await asyncio.sleep(delay)
            await then()

        self._timer = asyncio.get_running_loop().create_task(later())

    async def handle_user_turn_started(self) -> None:
        self._stop_judging()

    async def cleanup(self) -> None:
        self._stop_judging()
        self._gate.resume()
        await super().cleanup()
