"""The baseline lip sync most avatar stacks ship: mouth opening from audio loudness.

Kept to score the alignment-driven visemes against, in the same eval run.
"""

from __future__ import annotations

import numpy as np

WINDOW_S = 0.02
ATTACK, RELEASE = 0.6, 0.25  # one-pole smoothing per frame, opening faster than closing


def amplitude_jaw_track(pcm: np.ndarray, sample_rate: int, times: np.ndarray) -> np.ndarray:
    """jawOpen in 0..1 at each time, from the RMS of the WINDOW_S of audio before it."""
    audio = pcm.astype(np.float32) / 32768.0
    window = max(1, int(WINDOW_S * sample_rate))
    ends = np.clip((times * sample_rate).astype(int), 0, len(audio))
    rms = np.array(
        [np.sqrt(np.mean(audio[max(0, e - window) : e] ** 2)) if e > 0 else 0.0 for e in ends]
    )
    peak = np.percentile(rms, 95) or 1.0
    target = np.clip(rms / peak, 0.0, 1.0) * 0.7
    jaw = np.zeros_like(target)
    level = 0.0
    for index, value in enumerate(target):
        rate = ATTACK if value > level else RELEASE
        level += rate * (value - level)
        jaw[index] = level
    return jaw
