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


async def test_a_long_first_clause_is_cut_at_a_phrase_boundary_only_once():
    aggregator = ClauseTextAggregator(min_words=4, first_clause_words=7)
    text = (
        "Photosynthesis is a vital process that plants use to convert light into food "
        "which they store in their leaves and stems for later."
    )
    clauses = await collect(aggregator, [word + " " for word in text.split()])
    assert clauses[0] == "Photosynthesis is a vital process that plants use"
    assert clauses[1].startswith("to convert light") and clauses[1].endswith("for later.")
    # A new answer opens with a short clause again.
    second = "Bees collect nectar from many different flowers and then bring it home"
    again = await collect(aggregator, [w + " " for w in second.split()])
    assert again == ["Bees collect nectar from many different flowers", "and then bring it home"]


def test_phrase_cut_waits_for_complete_words():
    from speech.clauses import find_phrase_cut

    assert find_phrase_cut("one two three four five six seven eight becau", 7, 14) == -1
    assert find_phrase_cut("a b c d e f g h i j k l m n o p", 7, 10) == len("a b c d e f g h i j")


async def test_text_that_arrives_whole_opens_with_the_clause_streaming_would_cut():
    """A facet's first sentence, handed over whole, opens with a short clause as a streamed
    answer does (Piper's first audio is as quick), and the rest follows in clauses."""
    text = ("The sky is blue because the gases in the air scatter blue light from the Sun "
            "much more than red light, so blue comes from every part of the sky.")  # fmt: skip
    whole = await collect(ClauseTextAggregator(min_words=4, first_clause_words=4), [text])
    streamed = await collect(
        ClauseTextAggregator(min_words=4, first_clause_words=4), [w + " " for w in text.split()]
    )
    assert whole[0] == streamed[0] == "The sky is blue"
    assert " ".join(whole) == text
    short = await collect(ClauseTextAggregator(min_words=4, first_clause_words=4),
                          ["Plants make food. They need light."])  # fmt: skip
    assert short == ["Plants make food.", "They need light."]
    hedge = await collect(ClauseTextAggregator(min_words=4, first_clause_words=4),
                          ["I'm not sure about that one, and I'd rather not guess."])  # fmt: skip
    assert hedge[0] == "I'm not sure about that one,"
