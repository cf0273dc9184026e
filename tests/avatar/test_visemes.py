"""Viseme mapping and timing."""

import pytest

from avatar.visemes import VISEMES, viseme_of, viseme_segments


@pytest.mark.parametrize(
    ("phoneme", "viseme"),
    [("p", "PP"), ("m", "PP"), ("f", "FF"), ("θ", "TH"), ("d", "DD"), ("k", "kk"), ("ʃ", "CH"),
     ("s", "SS"), ("n", "nn"), ("ɹ", "RR"), ("æ", "aa"), ("ə", "E"), ("ɪ", "ih"), ("ɔ", "oh"),
     ("u", "ou"), (" ", "sil"), (",", "sil"), ("^", "sil")],
)  # fmt: skip
def test_phoneme_to_viseme(phoneme, viseme):
    assert viseme_of(phoneme) == viseme


def test_all_fifteen_visemes_are_reachable():
    from avatar.visemes import PHONEME_TO_VISEME

    assert set(PHONEME_TO_VISEME.values()) | {"sil"} == set(VISEMES)
    assert len(VISEMES) == 15


def test_segments_tile_the_audio_exactly():
    # "hello" as Piper aligns it at 22050 Hz, with a stress mark and an /h/.
    alignments = [("^", 768), ("h", 1024), ("ə", 1024), ("l", 512), ("ˈ", 1280), ("o", 1536),
                  ("ʊ", 1024), ("$", 512)]  # fmt: skip
    segments = viseme_segments(alignments, 22050, offset_s=1.0)
    total = sum(count for _, count in alignments)
    assert segments[0].start_s == 1.0
    assert segments[-1].end_s == pytest.approx(1.0 + total / 22050)
    for before, after in zip(segments, segments[1:], strict=False):
        assert before.end_s == pytest.approx(after.start_s)
    names = [s.viseme for s in segments]
    assert names == ["sil", "E", "nn", "oh", "ou", "sil"]
    # /h/ joined the schwa; the stress mark joined /o/ and marks it stressed.
    schwa, oh = segments[1], segments[3]
    assert schwa.start_s == pytest.approx(1.0 + 768 / 22050)
    assert oh.start_s == pytest.approx(1.0 + (768 + 1024 + 1024 + 512) / 22050) and oh.stressed


def test_length_mark_extends_previous_and_equal_neighbours_merge():
    segments = viseme_segments([("u", 100), ("ː", 50), ("w", 30), ("s", 20)], 1000)
    assert [(s.viseme, s.start_s, s.end_s) for s in segments] == [
        ("ou", 0.0, 0.18),
        ("SS", 0.18, 0.2),
    ]
