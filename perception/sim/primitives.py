"""Movement primitives as pure numpy functions: each returns a steering vector per animal.

Behaviours are weighted sums of these, the way boids are built from cohesion, alignment and
separation. Positions are (N, 3) in a unit box; only x and y steer, z is altitude.
"""

from __future__ import annotations

import numpy as np


def unit(v: np.ndarray) -> np.ndarray:
    """Rows scaled to length one (zero rows stay zero)."""
    n = np.linalg.norm(v, axis=-1, keepdims=True)
    return np.where(n > 1e-9, v / np.maximum(n, 1e-9), 0.0)


def cohesion(pos: np.ndarray) -> np.ndarray:
    """Towards the group's centre."""
    return pos.mean(axis=0, keepdims=True) - pos


def alignment(vel: np.ndarray) -> np.ndarray:
    """Towards the group's mean heading."""
    return vel.mean(axis=0, keepdims=True) - vel


def separation(pos: np.ndarray, radius: float) -> np.ndarray:
    """Away from neighbours closer than radius, harder the closer they are."""
    diff = pos[:, None, :] - pos[None, :, :]
    dist = np.linalg.norm(diff, axis=-1, keepdims=True)
    near = (dist < radius) & (dist > 1e-9)
    push = np.where(near, diff / np.maximum(dist, 1e-9) ** 2, 0.0)
    return push.sum(axis=1) * radius


def seek(pos: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Straight towards target (one point or one per animal)."""
    return unit(target - pos)


def stalk(hunter: np.ndarray, prey: np.ndarray, creep: float) -> np.ndarray:
    """Towards the nearest prey, slowed to a creep while far and full speed once close."""
    d = np.linalg.norm(prey - hunter, axis=-1)
    target = prey[int(np.argmin(d))]
    gap = float(d.min())
    speed = 1.0 if gap < 0.15 else creep
    return seek(hunter[None], target[None])[0] * speed


def zigzag_escape(prey: np.ndarray, threat: np.ndarray, step: int, period: int) -> np.ndarray:
    """Away from the threat, swerving left and right every `period` steps."""
    away = unit(prey - threat)
    side = np.stack([-away[:, 1], away[:, 0], np.zeros(len(away))], axis=1)
    sign = 1.0 if (step // period) % 2 == 0 else -1.0
    return away + 0.9 * sign * side


def patrol(pos: np.ndarray, centre: np.ndarray, radius: float) -> np.ndarray:
    """Along the circle of the territory's edge, pulled back onto it when off."""
    rel = pos - centre
    rel[:, 2] = 0.0
    r = np.linalg.norm(rel, axis=-1, keepdims=True)
    tangent = unit(np.stack([-rel[:, 1], rel[:, 0], np.zeros(len(rel))], axis=1))
    radial = unit(rel) * (radius - r)
    return tangent + 6.0 * radial


def orbit_partner(pos: np.ndarray) -> np.ndarray:
    """Pairs (0,1), (2,3), ... circle their shared midpoint closely."""
    idx = np.arange(len(pos))
    partner_idx = idx ^ 1
    partner_idx[partner_idx >= len(pos)] = idx[partner_idx >= len(pos)]
    partner = pos[partner_idx]
    mid = (pos + partner) / 2.0
    rel = pos - mid
    rel[:, 2] = 0.0
    tangent = unit(np.stack([-rel[:, 1], rel[:, 0], np.zeros(len(rel))], axis=1))
    return tangent + 4.0 * (mid - pos) * (np.linalg.norm(rel, axis=-1, keepdims=True) > 0.03)


def wander(vel: np.ndarray, rng: np.random.Generator, jitter: float) -> np.ndarray:
    """The current heading, nudged at random."""
    noise = rng.normal(0.0, jitter, size=vel.shape)
    noise[:, 2] = 0.0
    return unit(vel) + noise


def walls(pos: np.ndarray, margin: float = 0.08) -> np.ndarray:
    """Back into the box when near its sides."""
    push = np.zeros_like(pos)
    push[:, :2] += np.clip(margin - pos[:, :2], 0.0, None) / margin
    push[:, :2] -= np.clip(pos[:, :2] - (1.0 - margin), 0.0, None) / margin
    return 3.0 * push
