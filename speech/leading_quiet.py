"""Cut the near-silence Piper puts before an utterance, keeping its alignments true.

Piper's output opens with 30-60 ms of near-silence (the voice's start-of-utterance phoneme).
The learner hears the answer that much later, so the first clause of an answer starts at its
first sound instead, minus a few milliseconds to keep the attack. The alignments are the
avatar's lip-sync clock: the cut comes off their leading entries, so phoneme times stay on
the audio.
"""

from __future__ import annotations

import numpy as np

from speech.frames import PhonemeAlignment

QUIET_AMPLITUDE = 200  # int16; Piper's lead-in stays below this, speech rises well above it
KEEP_S = 0.005  # left before the first sound so the attack is not clipped
LIMIT_S = 0.1  # never cut more than this, whatever the audio holds


def quiet_lead_samples(audio: np.ndarray, sample_rate: int) -> int:
    """How many leading samples of int16 `audio` can go (0 if it starts loud or is silent)."""
    loud = np.flatnonzero(np.abs(audio.astype(np.int32)) > QUIET_AMPLITUDE)
    if loud.size == 0:
        return 0  # all quiet: nothing to start early, keep it whole
    cut = int(loud[0]) - round(KEEP_S * sample_rate)
    return max(0, min(cut, round(LIMIT_S * sample_rate)))


def drop_lead(alignments: list[PhonemeAlignment], samples: int) -> list[PhonemeAlignment]:
    """The alignments with `samples` taken off the front; entries left empty are dropped."""
    kept: list[PhonemeAlignment] = []
    for item in alignments:
        take = min(samples, item.num_samples)
        samples -= take
        if item.num_samples - take > 0:
            kept.append(PhonemeAlignment(item.phoneme, item.num_samples - take))
    return kept
