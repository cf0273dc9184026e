"""Numpy rendering: RGB frames through a panning top-down camera, and 3D point clouds."""

from __future__ import annotations

import numpy as np

from perception.sim.world import World

VIEW = 0.6  # width of the camera's window onto the unit box
TEXTURE_RES = 128
BODY_SCALE = 2.0  # animals are drawn larger than life so a 64-pixel frame shows them


def ground_texture(world: World) -> np.ndarray:
    """A seeded (TEXTURE_RES, TEXTURE_RES, 3) ground, so camera pans are visible."""
    rng = np.random.default_rng(int(world.rng.integers(1 << 31)))
    coarse = rng.random((8, 8))
    blobs = np.kron(coarse, np.ones((TEXTURE_RES // 8, TEXTURE_RES // 8)))
    grain = rng.random((TEXTURE_RES, TEXTURE_RES)) * 0.3
    mix = np.clip(0.7 * blobs + grain, 0.0, 1.0)[..., None]
    ground = np.asarray(world.biome.ground, dtype=np.float32)
    texture = np.asarray(world.biome.texture, dtype=np.float32)
    return (ground * (1 - mix) + texture * mix).astype(np.float32)


def render_frame(world: World, texture: np.ndarray, size: int) -> np.ndarray:
    """One (size, size, 3) uint8 frame of the world as the camera sees it now."""
    s = world.state
    lo = s.camera - VIEW / 2
    coords = lo[None, :] + (np.arange(size)[:, None] + 0.5) / size * VIEW  # (size, 2) for x and y
    tx = np.clip((coords[:, 0] * TEXTURE_RES).astype(int), 0, TEXTURE_RES - 1)
    ty = np.clip((coords[:, 1] * TEXTURE_RES).astype(int), 0, TEXTURE_RES - 1)
    image = texture[ty[:, None], tx[None, :]].copy()
    xs, ys = coords[:, 0][None, :], coords[:, 1][:, None]
    sp = world.species
    bodies = [(q, sp.size * BODY_SCALE, sp.colour) for q in s.pos]
    if np.all(np.abs(s.predator_pos[:2] - s.camera) < VIEW / 2 + 0.05):
        bodies.append(
            (s.predator_pos, world.biome.predator.size * BODY_SCALE, world.biome.predator.colour)
        )
    for centre, radius, colour in bodies:
        if centre[2] > 0.01:  # a shadow on the ground under anything off it
            shadow = (xs - centre[0] - centre[2] * 0.3) ** 2 + (
                ys - centre[1] - centre[2] * 0.3
            ) ** 2 < radius**2
            image[shadow] *= 0.6
        r = radius * (1.0 + 2.0 * centre[2])
        body = (xs - centre[0]) ** 2 + (ys - centre[1]) ** 2 < r**2
        image[body] = colour
    return np.clip(image, 0, 255).astype(np.uint8)


def point_cloud(world: World, n_points: int, rng: np.random.Generator) -> np.ndarray:
    """(n_points, 3): surface samples of every body plus the ground around them."""
    s = world.state
    centres = np.concatenate([s.pos, s.predator_pos[None]], axis=0)
    radii = np.array([world.species.size] * len(s.pos) + [world.biome.predator.size])
    body_n = n_points * 3 // 4
    owner = rng.integers(0, len(centres), body_n)
    direction = rng.normal(0, 1, (body_n, 3))
    direction /= np.linalg.norm(direction, axis=1, keepdims=True)
    bodies = centres[owner] + direction * radii[owner, None]
    ground = np.concatenate(
        [rng.uniform(0, 1, (n_points - body_n, 2)), np.zeros((n_points - body_n, 1))], axis=1
    )
    return np.concatenate([bodies, ground], axis=0).astype(np.float32)
