"""Animal calls and ambient noise: the clip's soundtrack for the audio encoder.

Each behaviour has its own call pattern (rate, pitch glide, duty), each species its own
pitch, each biome its own noise floor; so audio alone says something about the scene.
"""

from __future__ import annotations

import numpy as np

from perception.sim.catalog import Biome, Species

SAMPLE_RATE = 16_000

# calls per second, pitch glide (octaves over one call), call length (s), loudness
CALL_PATTERN: dict[str, tuple[float, float, float, float]] = {
    "hunting": (0.8, -0.8, 0.35, 0.9),
    "grazing": (1.0, 0.0, 0.10, 0.3),
    "flocking": (8.0, 0.5, 0.04, 0.5),
    "nesting": (2.0, 0.2, 0.15, 0.4),
    "territorial": (1.5, -0.3, 0.30, 0.8),
    "mating": (4.0, 1.0, 0.12, 0.6),
    "migration": (3.0, 0.0, 0.08, 0.4),
    "playing": (6.0, 0.8, 0.06, 0.7),
}


def soundtrack(
    biome: Biome, species: Species, behaviour: str, seconds: float, rng: np.random.Generator
) -> np.ndarray:
    """float32 mono at SAMPLE_RATE in [-1, 1]."""
    n = int(round(seconds * SAMPLE_RATE))
    audio = rng.normal(0.0, biome.ambient_noise, n)
    rate, glide, length, loud = CALL_PATTERN[behaviour]
    pitch = species.call_hz if behaviour != "hunting" else biome.predator.call_hz
    t_call = np.arange(int(length * SAMPLE_RATE)) / SAMPLE_RATE
    freq = pitch * 2.0 ** (glide * t_call / length)
    phase = 2 * np.pi * np.cumsum(freq) / SAMPLE_RATE
    envelope = np.sin(np.pi * t_call / length) ** 2
    call = (np.sin(phase) * envelope * loud).astype(np.float64)
    start = rng.uniform(0, 1.0 / rate)
    while start < seconds:
        i = int(start * SAMPLE_RATE)
        seg = call[: max(0, n - i)]
        audio[i : i + len(seg)] += seg * rng.uniform(0.7, 1.0)
        start += rng.exponential(1.0 / rate)
    return np.clip(audio, -1.0, 1.0).astype(np.float32)
