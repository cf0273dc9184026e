"""Checking what a model adds against the facets before it is spoken.

A what-if is the one kind of question the curriculum cannot answer word for word, so the
model writes it from the concept's facets. Each sentence it writes is kept only if it is
close in meaning to some facet sentence and states no number the facets do not; what is
left unsupported is dropped, and if nothing is left the tutor says what it does know.
"""

from __future__ import annotations

import re

from agent.retrieval.index import embed
from agent.tutoring.facets import sentences

SUPPORT_SIMILARITY = 0.6
NUMBER = re.compile(r"\d+(?:\.\d+)?")


def _split(text: str) -> list[str]:
    return [s for s in re.split(r"(?<=[.!?])\s+", text.strip()) if s.strip()]


def supported_sentences(answer: str, notes: list[str]) -> list[str]:
    """The sentences of `answer` that the notes support, in order."""
    written = _split(answer)
    facts = [s for note in notes for s in sentences(note)]
    if not written or not facts:
        return []
    numbers = set(NUMBER.findall(" ".join(notes)))
    vectors = embed(written + facts)
    said, known = vectors[: len(written)], vectors[len(written) :]
    closeness = (said @ known.T).max(axis=1)
    return [
        sentence
        for sentence, close in zip(written, closeness, strict=True)
        if close >= SUPPORT_SIMILARITY and set(NUMBER.findall(sentence)) <= numbers
    ]


def supported_answer(answer: str, notes: list[str]) -> str:
    """The supported part of the answer, or an honest fallback built from the notes."""
    kept = supported_sentences(answer, notes)
    if kept:
        return " ".join(kept)
    return f"I'm not certain what would happen there. Here is what I do know: {notes[0]}"
