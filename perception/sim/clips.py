"""Seeded clips (video, audio, points, camera pans, labels) and an endless stream of them."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from perception.sim.catalog import BEHAVIOURS, BIOMES, describe
from perception.sim.render import ground_texture, point_cloud, render_frame
from perception.sim.sounds import SAMPLE_RATE, soundtrack
from perception.sim.world import MAX_PAN, World

BIOME_NAMES = tuple(BIOMES)


@dataclass(frozen=True)
class ClipSpec:
    """Shape of one training example."""

    frames: int = 8
    size: int = 64
    fps: float = 8.0
    points: int = 256
    warmup: int = 12  # steps run before recording, so behaviours are under way
    stride: int = 5  # simulation steps per rendered frame: motion of a few pixels per frame

    @property
    def seconds(self) -> float:
        return self.frames / self.fps


@dataclass
class Clip:
    """One example. Labels are for evaluation and the caption head only."""

    video: np.ndarray  # (T, H, W, 3) uint8
    audio: np.ndarray  # (S,) float32 at SAMPLE_RATE
    points: np.ndarray  # (P, 3) float32, at the last frame
    pans: np.ndarray  # (T, 2) float32 camera moves taken after each frame
    behaviour: int
    next_behaviour: int
    biome: int
    species: int
    description: str


def _pans(rng: np.random.Generator, frames: int) -> np.ndarray:
    """Half the clips hold still; the rest pan on a smooth random walk."""
    if rng.random() < 0.5:
        return np.zeros((frames, 2), np.float32)
    walk = np.cumsum(rng.normal(0, MAX_PAN / 3, (frames, 2)), axis=0)
    return np.clip(walk, -MAX_PAN, MAX_PAN).astype(np.float32)


def make_clip(seed: int, spec: ClipSpec = ClipSpec()) -> Clip:
    """The clip for `seed`: the same seed gives the same bytes."""
    rng = np.random.default_rng(seed)
    biome_i = int(rng.integers(len(BIOME_NAMES)))
    biome = BIOMES[BIOME_NAMES[biome_i]]
    species_i = int(rng.integers(len(biome.species)))
    behaviour_i = int(rng.integers(len(BEHAVIOURS)))
    world = World(
        biome,
        biome.species[species_i],
        BEHAVIOURS[behaviour_i],
        rng,
        herd_size=int(rng.integers(4, 7)) * 2,
    )
    world.segment_left = spec.warmup + spec.frames * spec.stride + 1
    texture = ground_texture(world)
    for _ in range(spec.warmup):
        world.step()
    pans = _pans(rng, spec.frames)
    video = np.empty((spec.frames, spec.size, spec.size, 3), np.uint8)
    for t in range(spec.frames):
        video[t] = render_frame(world, texture, spec.size)
        world.step(pans[t])
        for _ in range(spec.stride - 1):
            world.step()
    points = point_cloud(world, spec.points, rng)
    audio = soundtrack(biome, world.species, BEHAVIOURS[behaviour_i], spec.seconds, rng)
    upcoming = BEHAVIOURS.index(world.next_behaviour())
    return Clip(
        video,
        audio,
        points,
        pans,
        behaviour_i,
        upcoming,
        biome_i,
        species_i,
        describe(biome, world.species, BEHAVIOURS[behaviour_i]),
    )


class ClipStream:
    """Endless clips from consecutive seeds: the streaming generator for training."""

    def __init__(self, spec: ClipSpec = ClipSpec(), first_seed: int = 0, stride: int = 1) -> None:
        self.spec, self.seed, self.stride = spec, first_seed, stride

    def __iter__(self) -> Iterator[Clip]:
        while True:
            yield make_clip(self.seed, self.spec)
            self.seed += self.stride


def continuous_frames(
    seed: int, size: int, fps: float = 8.0, stride: int = ClipSpec.stride
) -> Iterator[tuple[np.ndarray, np.ndarray, int]]:
    """One long take, behaviours switching along the chain: (frame, audio chunk, behaviour)."""
    rng = np.random.default_rng(seed)
    biome = BIOMES[BIOME_NAMES[int(rng.integers(len(BIOME_NAMES)))]]
    world = World(biome, biome.species[0], BEHAVIOURS[int(rng.integers(len(BEHAVIOURS)))], rng)
    texture = ground_texture(world)
    while True:
        frame = render_frame(world, texture, size)
        audio = soundtrack(biome, world.species, world.behaviour, 1.0 / fps, rng)
        yield frame, audio, BEHAVIOURS.index(world.behaviour)
        for _ in range(stride):
            world.step()


__all__ = ["SAMPLE_RATE", "Clip", "ClipSpec", "ClipStream", "continuous_frames", "make_clip"]
