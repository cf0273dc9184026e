"""Cut streamed LLM text into clauses, so TTS can start speaking before a sentence ends.

Pipecat's default aggregator waits for a whole sentence; a tutor's first sentence is often
15+ words, which costs the learner a second of silence on CPU. A clause break (, ; :) cuts
once the clause holds enough words to sound natural; sentence ends always cut.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from pipecat.utils.text.base_text_aggregator import Aggregation, BaseTextAggregator, TextType

SENTENCE_END = ".!?"
CLAUSE_BREAK = ",;:"
# Words whose trailing period does not end a sentence.
ABBREVIATIONS = {"dr", "mr", "mrs", "ms", "st", "vs", "etc", "e.g", "i.e", "prof", "approx"}


def find_cut(buffer: str, min_words: int) -> int:
    """Index just after the first clause boundary in buffer, or -1 when none is final yet.

    A boundary is final only once a whitespace character follows it, so "3.5" and
    "e.g." are not cut mid-token.
    """
    for index in range(1, len(buffer)):
        if not buffer[index].isspace():
            continue
        mark = buffer[index - 1]
        head = buffer[:index]
        if mark in SENTENCE_END:
            last_word = head.rstrip(SENTENCE_END).split()[-1:] or [""]
            if last_word[0].lower() not in ABBREVIATIONS:
                return index
        elif mark in CLAUSE_BREAK and len(head.split()) >= min_words:
            return index
        elif mark == "\n" and head.strip():
            return index
    return -1


class ClauseTextAggregator(BaseTextAggregator):
    """A Pipecat text aggregator that yields clauses instead of whole sentences."""

    def __init__(self, min_words: int = 4, **kwargs) -> None:
        super().__init__(aggregation_type=TextType.SENTENCE, **kwargs)
        self._min_words = min_words
        self._buffer = ""

    @property
    def text(self) -> Aggregation:
        return Aggregation(text=self._buffer.strip(), type=TextType.SENTENCE)

    async def aggregate(self, text: str) -> AsyncIterator[Aggregation]:
        self._buffer += text
        while (cut := find_cut(self._buffer, self._min_words)) >= 0:
            clause, self._buffer = self._buffer[:cut].strip(), self._buffer[cut:]
            if clause:
                yield Aggregation(text=clause, type=TextType.SENTENCE)

    async def flush(self) -> Aggregation | None:
        rest, self._buffer = self._buffer.strip(), ""
        return Aggregation(text=rest, type=TextType.SENTENCE) if rest else None

    async def handle_interruption(self) -> None:
        self._buffer = ""

    async def reset(self) -> None:
        self._buffer = ""
