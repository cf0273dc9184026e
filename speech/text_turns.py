"""End of turn from sound and words: smart-turn's verdict, overruled by a finished sentence.

Smart-turn v3 hears prosody only, and calls some complete spoken questions incomplete ("What
is Newton's first law?" with a flat ending); the turn then ends at its silence fallback,
3 s later. The transcript at the VAD's stop tells what the sound cannot: a question or
sentence that ends in punctuation and not mid-phrase ("what is the...", "and um") is a
finished turn, so it ends after a short grace unless the learner speaks again. The other
way round, a transcript that stops mid-phrase ("what is", "how do plants", "can you tell
me") is a learner pausing to think, whatever smart-turn hears: its "complete" is held until
the learner goes on or the silence reaches the fallback. A word that usually opens a phrase
can still end a question ("where does rain come from?", "why is that?"): those endings
count as finished.
"""

from __future__ import annotations

import asyncio
import re
import time

from pipecat.frames.frames import (
    Frame,
    TranscriptionFrame,
    VADUserStartedSpeakingFrame,
    VADUserStoppedSpeakingFrame,
)
from pipecat.turns.types import ProcessFrameResult
from pipecat.turns.user_stop import TurnAnalyzerUserTurnStopStrategy

# Words a sentence does not end on: articles, prepositions, conjunctions, fillers, and the
# words that open a question's object ("what is the", "how does a").
OPEN_ENDINGS = set(
    "a an the of to in on at by for from with about into and or but so because if than "
    "that which who whose what when where why how is are was were do does did can could "
    "will would should my your his her their our its this these those um uh er erm like "
    "mean well some any very more most".split()
)
FILLER_ONLY = re.compile(r"^(?:\W*(?:um+|uh+|er+|erm+|hmm+|mm+|ah+|oh|okay|ok|so|and|well)\W*)+$")
MIN_WORDS = 3
# What Whisper writes for a breath, noise or silence at the end of a segment.
SILENCE_PHRASES = {"thank you", "thanks", "you", "thank you very much", "bye", "okay"}
# Requests that name their object next: "can you tell me … what gravity is".
OPEN_REQUESTS = re.compile(r"\b(?:tell|show|teach|give|remind|explain to) me$")
# A question's auxiliary and its subject, the verb still to come: "how do plants …".
AUX_SUBJECT = re.compile(
    r"^(?:so |and |but |um |uh )*(?:what|why|how|where|when|which|who)"
    r" (?:do|does|did|can|could|will|would|should) \S+$"
)
# "tell me what a food chain is": a clause that ends on its verb, not a sentence cut short.
# It hangs on a verb or its object ("know", "me"), never on a conjunction: "so what the moon
# is?" is Whisper's guess at "so if the Moon is", a sentence still to be finished.
EMBEDDED_COPULA = re.compile(
    r"\b(?!(?:so|and|but|or|if|then|because)\b)\w+ (?:what|how|where|who|which)"
    r" \S+(?: \S+)* (?:is|are|was|were)$"
)


# Words that usually open a phrase but also end a whole question after a verb: "Where does
# rain come from?", "What are clouds made of?", "Why is that?", "Can you tell me more?".
PREPOSITIONS = frozenset("of to in on at by for from with about into".split())
DEMONSTRATIVES = frozenset("that this these those".split())
QUANTIFIERS = frozenset("more some any".split())
OBJECT_PRONOUNS = frozenset("me us you it them".split())
# Verbs a question strands a preposition after; participles ("-ed", "-ing") count too.
STRANDING_VERBS = frozenset(
    "come comes came go goes made make makes look looks belong belongs live lives depend "
    "depends consist consists use need needs talk think happen happens turn turns grow grows "
    "fall falls get gets taken eaten given written known seen shown grown broken frozen".split()
)


def participle(word: str) -> bool:
    """ "-ed" and "-ing" verb forms, not the nouns that merely end so ("speed", "thing")."""
    if word.endswith("ed"):
        return len(word) > 3 and not word.endswith("eed")
    return word.endswith("ing") and len(word) > 5 and not word.endswith(("thing", "ring"))


def closes_with_object(words: list[str], text: str) -> bool:
    """Whether an open-looking last word ends the sentence: a preposition stranded after a
    verb ("come from?"), a demonstrative as a question's object ("why is that?", "after
    that?"), "mean" after "you", or "more" after a pronoun ("tell me more")."""
    if len(words) < 2 or not text.endswith(("?", ".", "!")):
        return False
    before, last = words[-2], words[-1]
    if last in PREPOSITIONS:
        return before in STRANDING_VERBS or participle(before)
    if last in DEMONSTRATIVES:
        return text.endswith("?")  # "I think that." may go on; Whisper heard a question
    if last == "mean":
        return before == "you"  # "what do you mean?", not "I mean"
    return last in QUANTIFIERS and before in OBJECT_PRONOUNS


def finished_sentence(text: str) -> bool:
    """Whether a transcript reads as a whole question or sentence (not trailing off)."""
    text = text.strip()
    return text.endswith((".", "?", "!")) and _reads_whole(text)


def unpunctuated_end(text: str) -> bool:
    """Whether a transcript with no end punctuation at all still stops where a sentence
    can: Whisper drops it on some short or noisy segments ("… will change shape", "… a food
    web"), which then waited for the silence fallback."""
    text = text.strip()
    return text[-1:].isalnum() and _reads_whole(text)


def _reads_whole(text: str) -> bool:
    """Enough words, not stopping mid-phrase (an ellipsis, a filler, "How do plants?")."""
    return len(re.findall(r"[a-z']+", text.lower())) >= MIN_WORDS and not trails_off(text)


def trails_off(text: str) -> bool:
    """Whether a transcript stops mid-phrase: on an open word, a filler, an ellipsis or a
    comma, a request before its object, or a question's subject before its verb."""
    text = text.strip()
    if not text:
        return False
    if text.endswith(("...", "…", ",", "-", "—")) or FILLER_ONLY.match(text.lower()):
        return True
    words = " ".join(re.findall(r"[a-z']+", text.lower()))
    if not words:
        return False
    if EMBEDDED_COPULA.search(words):
        return False
    if OPEN_REQUESTS.search(words) or AUX_SUBJECT.match(words):
        return True  # "why does that …": the verb is still to come
    tokens = words.split()
    return tokens[-1] in OPEN_ENDINGS and not closes_with_object(tokens, text)


class TextAwareTurnStopStrategy(TurnAnalyzerUserTurnStopStrategy):
    """Smart-turn's stop strategy that also ends the turn on a finished sentence.

    After the VAD's stop, a transcript that is a finished sentence ends the turn `grace_s`
    later even if smart-turn said incomplete, one that stops where a sentence can with no
    punctuation at all `bare_grace_s` later; speech in the meantime cancels it. A transcript
    that trails off holds smart-turn's "complete" until the silence fallback (kept here: the
    analyzer forgets the turn once it has said complete, and Pipecat's own safety net only
    ends it after 5 s). Both read the
    whole turn's words, not the last segment's: after "Can you tell me …", the segment
    "what gravity is?" finishes the sentence that "Can you tell me" began.
    """

    def __init__(
        self, *, grace_s: float = 0.2, bare_grace_s: float = 0.6, fallback_s: float = 3.0, **kwargs
    ) -> None:
        """bare_grace_s: the grace for words that stop where a sentence can but carry no end
        punctuation; fallback_s: the silence after which a held turn ends (the analyzer's
        stop_secs)."""
        super().__init__(**kwargs)
        self._grace_s = grace_s
        self._bare_grace_s = max(grace_s, bare_grace_s)
        self._fallback_s = fallback_s
        self._end_task: asyncio.Task | None = None  # an end the words scheduled
        self.ended_by_text = 0  # turns this strategy ended before smart-turn would have
        self.held_by_text = 0  # smart-turn "complete"s held because the words trail off
        self._silence_timeout = False  # the analyzer's fallback fired, not its model
        self._held = False
        self._segments: list[str] = []  # this turn's transcripts, one per VAD segment
        self._quiet_since = 0.0  # when the learner last stopped speaking (monotonic)

    def _words(self) -> str:
        """The turn's words; a segment that is only one of Whisper's phrases for noise or
        silence ("Thank you.") does not finish what came before it."""
        real = [s for s in self._segments if s.lower().strip(" .!?,") not in SILENCE_PHRASES]
        return " ".join(real or self._segments)

    async def process_frame(self, frame: Frame) -> ProcessFrameResult:
        result = await super().process_frame(frame)
        if isinstance(frame, VADUserStartedSpeakingFrame):
            await self._cancel_end()
        elif isinstance(frame, VADUserStoppedSpeakingFrame):
            self._quiet_since = time.monotonic() - frame.stop_secs
        elif (
            isinstance(frame, TranscriptionFrame) and self._vad_stopped and not self._turn_complete
        ):
            words = self._words()
            if finished_sentence(words):
                await self._schedule_end(self._end_after_grace(self._grace_s), "text_grace")
            elif unpunctuated_end(words):
                await self._schedule_end(self._end_after_grace(self._bare_grace_s), "bare_grace")
        return result

    async def _handle_transcription(self, frame: TranscriptionFrame) -> None:
        self._segments.append(frame.text.strip())
        # Pipecat ends the turn outright on a transcript that comes after its wait for
        # one: a transcript that trails off is held there too.
        late = self._timeout_expired and self._turn_complete and not frame.finalized
        if late and trails_off(self._words()):
            self._text = frame.text
            self._hold()
            return
        await super()._handle_transcription(frame)

    def _hold(self) -> None:
        """Smart-turn's "complete" waits, while the words trail off, until the silence
        fallback (counted once a turn)."""
        if not self._held:
            self._held = True
            self.held_by_text += 1
        if self._end_task is None:
            self._end_task = self.task_manager.create_task(
                self._end_at_fallback(), f"{self}::held_fallback"
            )

    async def _handle_input_audio(self, frame) -> None:
        # A batch analyzer says COMPLETE from append_audio only when the silence reached
        # its fallback: that end is never held.
        self._silence_timeout = True
        try:
            await super()._handle_input_audio(frame)
        finally:
            self._silence_timeout = False

    async def _maybe_trigger_user_turn_stopped(self) -> None:
        if self._turn_complete and not self._silence_timeout and trails_off(self._words()):
            self._hold()
            return
        await super()._maybe_trigger_user_turn_stopped()

    async def _schedule_end(self, end, name: str) -> None:
        await self._cancel_end()
        self._end_task = self.task_manager.create_task(end, f"{self}::{name}")

    async def _end_after_grace(self, grace_s: float) -> None:
        try:
            await asyncio.sleep(grace_s)
        except asyncio.CancelledError:
            return
        self._end_task = None
        if self._vad_user_speaking or self._turn_complete:
            return  # the learner went on, or smart-turn already ended it
        self.ended_by_text += 1
        await self.trigger_user_turn_stopped()

    async def _end_at_fallback(self) -> None:
        try:
            await asyncio.sleep(max(0.0, self._quiet_since + self._fallback_s - time.monotonic()))
        except asyncio.CancelledError:
            return
        self._end_task = None
        if not self._vad_user_speaking:
            await self.trigger_user_turn_stopped()

    async def _cancel_end(self) -> None:
        if self._end_task is not None:
            await self.task_manager.cancel_task(self._end_task)
            self._end_task = None

    async def _reset(self) -> None:
        await self._cancel_end()
        self._held = False
        self._segments = []
        await super()._reset()

    async def cleanup(self) -> None:
        await self._cancel_end()
        await super().cleanup()
