"""End of turn from sound and words: smart-turn's verdict, overruled by a finished sentence.

Smart-turn v3 hears prosody only, and calls some complete spoken questions incomplete ("What
is Newton's first law?" with a flat ending); the turn then ends at its silence fallback,
3 s later. The transcript at the VAD's stop tells what the sound cannot: a question or
sentence that ends in punctuation and not mid-phrase ("what is the...", "and um") is a
finished turn, so it ends after a short grace unless the learner speaks again. A transcript
that trails off keeps smart-turn's decision, and its fallback.
"""

from __future__ import annotations

import asyncio
import re

from pipecat.frames.frames import Frame, TranscriptionFrame, VADUserStartedSpeakingFrame
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


def finished_sentence(text: str) -> bool:
    """Whether a transcript reads as a whole question or sentence (not trailing off)."""
    text = text.strip()
    if not text or text.endswith(("...", "…", ",", "-", "—")) or not text.endswith((".", "?", "!")):
        return False
    words = re.findall(r"[a-z']+", text.lower())
    if len(words) < MIN_WORDS or FILLER_ONLY.match(text.lower()):
        return False
    return words[-1] not in OPEN_ENDINGS


class TextAwareTurnStopStrategy(TurnAnalyzerUserTurnStopStrategy):
    """Smart-turn's stop strategy that also ends the turn on a finished sentence.

    After the VAD's stop, a transcript that is a finished sentence ends the turn `grace_s`
    later even if smart-turn said incomplete; speech in the meantime cancels it.
    """

    def __init__(self, *, grace_s: float = 0.2, **kwargs) -> None:
        super().__init__(**kwargs)
        self._grace_s = grace_s
        self._grace_task: asyncio.Task | None = None
        self.ended_by_text = 0  # turns this strategy ended before smart-turn would have

    async def process_frame(self, frame: Frame) -> ProcessFrameResult:
        result = await super().process_frame(frame)
        if isinstance(frame, VADUserStartedSpeakingFrame):
            await self._cancel_grace()
        elif isinstance(frame, TranscriptionFrame) and self._vad_stopped:
            if not self._turn_complete and finished_sentence(frame.text):
                await self._cancel_grace()
                self._grace_task = self.task_manager.create_task(
                    self._end_after_grace(), f"{self}::text_grace"
                )
        return result

    async def _end_after_grace(self) -> None:
        try:
            await asyncio.sleep(self._grace_s)
        except asyncio.CancelledError:
            return
        self._grace_task = None
        if self._vad_user_speaking or self._turn_complete:
            return  # the learner went on, or smart-turn already ended it
        self.ended_by_text += 1
        await self.trigger_user_turn_stopped()

    async def _cancel_grace(self) -> None:
        if self._grace_task is not None:
            await self.task_manager.cancel_task(self._grace_task)
            self._grace_task = None

    async def _reset(self) -> None:
        await self._cancel_grace()
        await super()._reset()

    async def cleanup(self) -> None:
        await self._cancel_grace()
        await super().cleanup()
