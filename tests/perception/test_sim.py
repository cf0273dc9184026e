"""The ecosystem simulator: determinism, coverage of biomes and behaviours, shards."""

from __future__ import annotations

import numpy as np
import pytest

from perception.sim import BEHAVIOURS, BIOMES, ClipSpec, ClipStream, make_clip
from perception.sim.catalog import BIOMES as CATALOG_BIOMES
from perception.sim.clips import continuous_frames
from perception.sim.shards import DatasetError, clip_from_arrays, read_shards, write_shards
from perception.sim.world import World


def test_same_seed_same_clip_and_different_seeds_differ():
    a, b, c = make_clip(11), make_clip(11), make_clip(12)
    assert np.array_equal(a.video, b.video) and np.array_equal(a.audio, b.audio)
    assert np.array_equal(a.points, b.points) and a.description == b.description
    assert not np.array_equal(a.video, c.video)


def test_clip_shapes_follow_the_spec():
    spec = ClipSpec(frames=4, size=32, points=64)
    clip = make_clip(0, spec)
    assert clip.video.shape == (4, 32, 32, 3) and clip.video.dtype == np.uint8
    assert clip.audio.shape == (8000,) and np.abs(clip.audio).max() <= 1.0
    assert clip.points.shape == (64, 3) and clip.pans.shape == (4, 2)


def test_every_biome_and_behaviour_is_generated():
    assert set(BIOMES) >= {"savanna", "reef", "canopy", "tundra", "urban"}
    clips = [make_clip(s, ClipSpec(frames=2, size=32, points=32)) for s in range(200)]
    assert {c.biome for c in clips} == set(range(len(BIOMES)))
    assert {c.behaviour for c in clips} == set(range(len(BEHAVIOURS)))


def _speed_and_spread(behaviour: str, steps: int = 40) -> tuple[float, float]:
    biome = CATALOG_BIOMES["savanna"]
    world = World(biome, biome.species[0], behaviour, np.random.default_rng(5), herd_size=8)
    world.segment_left = 10_000
    start = world.state.pos.copy()
    for _ in range(steps):
        world.step()
    travel = float(np.linalg.norm(world.state.pos.mean(0) - start.mean(0)))
    spread = float(np.linalg.norm(world.state.pos - world.state.pos.mean(0), axis=1).mean())
    return travel, spread


def test_behaviours_move_differently():
    migrate_travel, _ = _speed_and_spread("migration")
    graze_travel, _ = _speed_and_spread("grazing")
    assert migrate_travel > 3 * graze_travel
    _, flock_spread = _speed_and_spread("flocking")
    _, graze_spread = _speed_and_spread("grazing")
    assert flock_spread < 0.8 * graze_spread


def test_hunting_prey_flee_the_predator():
    biome = CATALOG_BIOMES["reef"]
    world = World(biome, biome.species[0], "hunting", np.random.default_rng(1))
    world.segment_left = 10_000
    gaps = []
    for _ in range(60):
        world.step()
        gaps.append(np.linalg.norm(world.state.pos - world.state.predator_pos, axis=1).min())
    assert min(gaps) < gaps[0]  # the stalker closes in


def test_camera_pan_shifts_the_view():
    spec = ClipSpec(frames=8, size=32)
    panned = next(c for c in (make_clip(s, spec) for s in range(50)) if np.abs(c.pans).sum() > 0)
    assert np.abs(panned.pans).max() <= 0.04 + 1e-6
    assert not np.array_equal(panned.video[0], panned.video[-1])


def test_stream_and_continuous_take():
    stream = iter(ClipStream(ClipSpec(frames=2, size=32, points=32), first_seed=7))
    first, second = next(stream), next(stream)
    assert np.array_equal(first.video, make_clip(7, ClipSpec(frames=2, size=32, points=32)).video)
    assert not np.array_equal(first.video, second.video)
    take = continuous_frames(3, size=32)
    behaviours = {next(take)[2] for _ in range(200)}
    assert len(behaviours) >= 3  # the chain moves on within a long take


def test_shards_round_trip_and_refuse_incomplete(tmp_path):
    spec = ClipSpec(frames=2, size=32, points=32)
    write_shards(tmp_path / "ds", 10, spec, shard_size=4, workers=1)
    arrays = read_shards(tmp_path / "ds", spec)
    assert arrays["video"].shape == (10, 2, 32, 32, 3)
    clip = clip_from_arrays(arrays, 9)
    assert (
        np.array_equal(clip.video, make_clip(9, spec).video)
        and clip.description == make_clip(9, spec).description
    )
    with pytest.raises(DatasetError, match="made with"):
        read_shards(tmp_path / "ds", ClipSpec())
    (tmp_path / "ds" / "manifest.json").unlink()
    with pytest.raises(DatasetError, match="interrupted"):
        read_shards(tmp_path / "ds")
