"""Cut streamed LLM text into clauses, so TTS can start speaking before a sentence ends.

Pipecat's default aggregator waits for a whole sentence; a tutor's first sentence is often
15+ words, which costs the learner a second of silence on CPU. A clause break (, ; :) cuts
once the clause holds enough words to sound natural; sentence ends always cut. The first
clause of an answer is also cut at a phrase boundary (before "that", "because", "to", ...)
once it runs long without punctuation, so the learner hears something early; later clauses
are synthesized while the first one plays, so they can wait for punctuation.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from pipecat.utils.text.base_text_aggregator import Aggregation, BaseTextAggregator, TextType

SENTENCE_END = ".!?"
CLAUSE_BREAK = ",;:"
# Words whose trailing period does not end a sentence.
ABBREVIATIONS = {"dr", "mr", "mrs", "ms", "st", "vs", "etc", "e.g", "i.e", "prof", "approx"}


# Words that start a new phrase: cutting just before one keeps prosody natural.
PHRASE_STARTERS = {
    "that", "which", "who", "because", "and", "but", "or", "so", "to", "of", "in", "on",
    "from", "by", "with", "when", "where", "while", "as", "for", "into", "through", "like",
}  # fmt: skip


def find_phrase_cut(buffer: str, after_words: int, force_words: int) -> int:
    """Index of the space before the first phrase starter that follows `after_words` complete
    words, or after `force_words` complete words if none came; -1 while neither is reached."""
    words, start = [], None
    for index, char in enumerate(buffer):
        if char.isspace():
            if start is not None:
                words.append((start, buffer[start:index].lower().strip(".,;:!?\"'")))
                start = None
        elif start is None:
            start = index
    # Only words followed by whitespace are complete ("becau" may still grow).
    for position, (word_start, word) in enumerate(words):
        if position >= after_words and word in PHRASE_STARTERS:
            return word_start - 1
        if position >= force_words:
            return word_start - 1
    return -1


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


def next_cut(buffer: str, min_words: int, first_clause_words: int | None, first: bool) -> int:
    """Where the next clause of streamed text ends (-1: not yet); `first` for an answer's
    opening clause, which is also cut at a phrase boundary after first_clause_words when
    its punctuation is further than twice that away. Text that arrives whole (a curriculum
    facet) is cut as it would be streamed, not at its first comma 20 words on; a short
    clause ("I'm not sure about that one,") stays whole rather than end on "about"."""
    cut = find_cut(buffer, min_words)
    if first and first_clause_words:
        force = 2 * first_clause_words
        if 0 <= cut and len(buffer[:cut].split()) <= force:
            return cut  # a short clause to its own punctuation sounds better whole
        phrase = find_phrase_cut(buffer, after_words=first_clause_words, force_words=force)
        if phrase >= 0 and (cut < 0 or phrase < cut):
            cut = phrase
    return cut


def opening_clause(text: str, min_words: int, first_clause_words: int | None) -> str | None:
    """The first clause the aggregator below would cut from an answer starting with `text`,
    or None while it is not complete (the LLM's speculative answer, agent/turn/speculation.py)."""
    cut = next_cut(text, min_words, first_clause_words, first=True)
    clause = text[:cut].strip() if cut >= 0 else ""
    return clause or None


class ClauseTextAggregator(BaseTextAggregator):
    """A Pipecat text aggregator that yields clauses instead of whole sentences."""

    def __init__(self, min_words: int = 4, first_clause_words: int | None = 4, **kwargs) -> None:
        super().__init__(aggregation_type=TextType.SENTENCE, **kwargs)
        self._min_words = min_words
        self._first_clause_words = first_clause_words  # None: punctuation only
        self._buffer = ""
        self._first = True  # the next clause opens an answer

    def _next_cut(self) -> int:
        return next_cut(self._buffer, self._min_words, self._first_clause_words, self._first)

    @property
    def text(self) -> Aggregation:
        return Aggregation(text=self._buffer.strip(), type=TextType.SENTENCE)

    async def aggregate(self, text: str) -> AsyncIterator[Aggregation]:
        self._buffer += text
        while (cut := self._next_cut()) >= 0:
            clause, self._buffer = self._buffer[:cut].strip(), self._buffer[cut:]
            if clause:
                self._first = False
                yield Aggregation(text=clause, type=TextType.SENTENCE)

    async def flush(self) -> Aggregation | None:
        rest, self._buffer, self._first = self._buffer.strip(), "", True
        return Aggregation(text=rest, type=TextType.SENTENCE) if rest else None

    async def handle_interruption(self) -> None:
        self._buffer, self._first = "", True

    async def reset(self) -> None:
        self._buffer, self._first = "", True
