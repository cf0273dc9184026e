"""Clause cutting for streamed TTS."""

import pytest

from speech.clauses import ClauseTextAggregator, find_cut


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Plants make food. They", len("Plants make food.")),
        ("Plants make food.", -1),  # not final until something follows
        ("Light is fast, very fast", -1),  # too few words before the comma
        ("Sunlight gives plants energy, and they", len("Sunlight gives plants energy,")),
        ("It costs 3.5 dollars", -1),
        ("Dr. Smith said hello. Then", len("Dr. Smith said hello.")),
        ("Why? Because", len("Why?")),
    ],
)
def test_find_cut(text, expected):
    assert find_cut(text, min_words=4) == expected


async def collect(aggregator, pieces):
    out = []
    for piece in pieces:
        out.extend([a.text async for a in aggregator.aggregate(piece)])
    tail = await aggregator.flush()
    return out + ([tail.text] if tail else [])


async def test_streamed_tokens_become_clauses():
    tokens = ["Photo", "synthesis is how plants", " make food,", " using light", ". It", " is neat"]
    clauses = await collect(ClauseTextAggregator(min_words=4), tokens)
    assert clauses == ["Photosynthesis is how plants make food,", "using light.", "It is neat"]


async def test_interruption_drops_buffered_text():
    aggregator = ClauseTextAggregator()
    _ = [a async for a in aggregator.aggregate("half a clause")]
    await aggregator.handle_interruption()
    assert await aggregator.flush() is None
