"""Piper's phonemes to the 15 Oculus/OpenXR visemes, timed on the audio sample clock.

Piper (espeak-ng IPA) gives one alignment per phoneme symbol, including stress and length
marks; those marks carry time but no mouth shape of their own, so stress joins the next
sound and length extends the previous one. /h/ takes the shape of the vowel after it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

VISEMES: tuple[str, ...] = (
    "sil", "PP", "FF", "TH", "DD", "kk", "CH", "SS", "nn", "RR", "aa", "E", "ih", "oh", "ou",
)  # fmt: skip
VISEME_INDEX = {name: index for index, name in enumerate(VISEMES)}

_GROUPS: dict[str, str] = {
    "PP": "pbm",
    "FF": "fv",
    "TH": "θð",
    "DD": "tdɾʔ",
    "kk": "kgŋxɡ",
    "CH": "ʃʒç",
    "SS": "sz",
    "nn": "nlɫ",
    "RR": "ɹrɚɝɻ",
    "aa": "aɑæʌɐ",
    "E": "eɛəɜ",
    "ih": "iɪjyɨ",
    "oh": "oɔɒ",
    "ou": "uʊwɯ",
}
PHONEME_TO_VISEME: dict[str, str] = {ph: vis for vis, phones in _GROUPS.items() for ph in phones}
JOINS_NEXT = {"ˈ", "ˌ", "h"}  # stress marks and /h/: shaped like the sound that follows
EXTENDS_PREVIOUS = {"ː", "ˑ"}  # length marks: the previous sound lasts longer
STRESS_MARKS = {"ˈ", "ˌ"}


@dataclass(frozen=True)
class VisemeSegment:
    """One viseme held from start_s to end_s on the audio clock; stressed syllables marked."""

    viseme: str
    start_s: float
    end_s: float
    stressed: bool = False

    @property
    def index(self) -> int:
        return VISEME_INDEX[self.viseme]


def viseme_of(phoneme: str) -> str:
    """The viseme of a single phoneme symbol; anything unknown (pauses, punctuation) is sil."""
    return PHONEME_TO_VISEME.get(phoneme, "sil")


def viseme_segments(
    alignments: Iterable[tuple[str, int]], sample_rate: int, offset_s: float = 0.0
) -> list[VisemeSegment]:
    """Visemes for (phoneme, num_samples) pairs that start at offset_s seconds.

    Segment boundaries fall exactly on the alignment's sample boundaries, so the track covers
    the audio with no gap or overlap; neighbouring equal visemes are merged.
    """
    raw: list[tuple[str, int, int, bool]] = []  # viseme, start sample, end sample, stressed
    pending_start: int | None = None
    pending_stress = False
    cursor = 0
    for phoneme, count in alignments:
        start, cursor = cursor, cursor + int(count)
        if phoneme in JOINS_NEXT or (phoneme in EXTENDS_PREVIOUS and pending_start is not None):
            # (a length mark after a stress mark stays with the sound still to come)
            pending_start = start if pending_start is None else pending_start
            pending_stress = pending_stress or phoneme in STRESS_MARKS
            continue
        if phoneme in EXTENDS_PREVIOUS and raw and pending_start is None:
            viseme, first, _, stressed = raw[-1]
            raw[-1] = (viseme, first, cursor, stressed)
            continue
        first = pending_start if pending_start is not None else start
        raw.append((viseme_of(phoneme), first, cursor, pending_stress))
        pending_start, pending_stress = None, False
    if pending_start is not None:  # a trailing stress mark or /h/: silence
        raw.append(("sil", pending_start, cursor, False))

    merged: list[tuple[str, int, int, bool]] = []
    for item in raw:
        if merged and merged[-1][0] == item[0]:
            viseme, first, _, stressed = merged[-1]
            merged[-1] = (viseme, first, item[2], stressed or item[3])
        else:
            merged.append(item)
    return [
        VisemeSegment(
            viseme, offset_s + first / sample_rate, offset_s + end / sample_rate, stressed
        )
        for viseme, first, end, stressed in merged
    ]
