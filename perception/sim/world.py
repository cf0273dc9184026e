"""One herd, one predator and a camera in a unit box, stepped by the current behaviour.

Behaviours switch along a seeded Markov chain (mostly to their SUCCESSOR), so what comes next
is predictable from what is happening now: the basis of the anticipation probe.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from perception.sim import primitives as p
from perception.sim.catalog import BEHAVIOURS, SUCCESSOR, Biome, Species

FOLLOW_SUCCESSOR_P = 0.8
MAX_PAN = 0.04  # largest camera move per step, world units


@dataclass
class WorldState:
    """Everything that moves: herd positions/velocities, the predator, the camera."""

    pos: np.ndarray  # (N, 3)
    vel: np.ndarray  # (N, 3)
    predator_pos: np.ndarray  # (3,)
    predator_vel: np.ndarray  # (3,)
    camera: np.ndarray  # (2,) centre of view
    anchors: np.ndarray  # (N, 3) nest sites / territory centres
    heading: np.ndarray  # (3,) migration direction
    step: int = 0


@dataclass
class World:
    """The simulation proper; `step` advances one frame."""

    biome: Biome
    species: Species
    behaviour: str
    rng: np.random.Generator
    herd_size: int = 8
    segment_left: int = 32
    state: WorldState = field(init=False)

    def __post_init__(self) -> None:
        n, rng = self.herd_size, self.rng
        pos = np.concatenate([rng.uniform(0.3, 0.7, (n, 2)), np.zeros((n, 1))], axis=1)
        if self.species.flies:
            pos[:, 2] = rng.uniform(0.05, 0.2, n)
        angle = rng.uniform(0, 2 * np.pi)
        heading = np.array([np.cos(angle), np.sin(angle), 0.0])
        vel = np.concatenate([rng.normal(0, 1, (n, 2)), np.zeros((n, 1))], axis=1)
        anchors = np.concatenate([rng.uniform(0.25, 0.75, (n, 2)), np.zeros((n, 1))], axis=1)
        predator = np.array([*rng.uniform(0.05, 0.95, 2), 0.0])
        self.state = WorldState(
            pos,
            p.unit(vel) * self.species.speed,
            predator,
            np.zeros(3),
            np.array([0.5, 0.5]),
            anchors,
            heading,
        )

    def next_behaviour(self) -> str:
        """Draw the behaviour that follows the current one."""
        if self.rng.random() < FOLLOW_SUCCESSOR_P:
            return SUCCESSOR[self.behaviour]
        return str(self.rng.choice([b for b in BEHAVIOURS if b != self.behaviour]))

    def step(self, pan: np.ndarray | None = None) -> None:
        """Advance one frame; `pan` moves the camera (the controllable action)."""
        s, sp = self.state, self.species
        steer, speed, pred_steer, pred_speed = _STEERING[self.behaviour](self, s)
        steer = steer + p.separation(s.pos, 2.5 * sp.size) + p.walls(s.pos)
        s.vel = 0.7 * s.vel + 0.3 * p.unit(steer) * sp.speed * speed
        s.pos = s.pos + s.vel
        s.pos[:, :2] = np.clip(s.pos[:, :2], 0.0, 1.0)
        s.pos[:, 2] = _altitude(self, s)
        pred = self.biome.predator
        s.predator_vel = (
            0.6 * s.predator_vel
            + 0.4 * (pred_steer + p.walls(s.predator_pos[None])[0]) * pred.speed * pred_speed
        )
        s.predator_pos = np.clip(s.predator_pos + s.predator_vel, 0.0, 1.0)
        if pan is not None:
            s.camera = np.clip(
                s.camera + np.clip(np.asarray(pan, dtype=float), -MAX_PAN, MAX_PAN), 0.2, 0.8
            )
        s.step += 1
        self.segment_left -= 1
        if self.segment_left <= 0:
            self.behaviour = self.next_behaviour()
            self.segment_left = int(self.rng.integers(24, 48))


def _altitude(world: World, s: WorldState) -> np.ndarray:
    if world.behaviour == "playing":
        return 0.04 * np.abs(np.sin(0.5 * s.step + np.arange(len(s.pos))))
    if world.species.flies and world.behaviour != "nesting":
        return np.clip(s.pos[:, 2] + world.rng.normal(0, 0.005, len(s.pos)), 0.05, 0.25)
    return np.maximum(s.pos[:, 2] * 0.8, 0.0)


def _idle_predator(s: WorldState) -> np.ndarray:
    """Off-duty predators drift towards a far corner and stay out of the scene."""
    return p.seek(s.predator_pos[None], np.array([[0.0, 0.0, 0.0]]))[0]


def _hunting(w: World, s: WorldState):
    """The predator creeps up, then charges; prey graze until it is close, then zig-zag away."""
    alarmed = np.linalg.norm(s.pos - s.predator_pos, axis=1, keepdims=True) < 0.2
    flee = p.zigzag_escape(s.pos, s.predator_pos[None], s.step, period=4)
    calm = p.wander(s.vel, w.rng, 0.5)
    speed = 1.6 if alarmed.any() else 0.4
    return (
        np.where(alarmed, flee, calm),
        speed,
        p.stalk(s.predator_pos[None], s.pos, creep=0.5)[0],
        1.0,
    )


def _grazing(w: World, s: WorldState):
    steer = p.wander(s.vel, w.rng, 0.8) + 0.3 * p.cohesion(s.pos)
    pauses = (w.rng.random(len(s.pos)) < 0.5)[:, None]
    return np.where(pauses, 0.0, steer), 0.35, _idle_predator(s), 0.5


def _flocking(w: World, s: WorldState):
    steer = (
        2.0 * p.cohesion(s.pos)
        + 1.5 * p.alignment(s.vel) / max(w.species.speed, 1e-6)
        + p.unit(s.vel)
    )
    return steer, 1.3, _idle_predator(s), 0.5


def _nesting(w: World, s: WorldState):
    d = np.linalg.norm(s.anchors - s.pos, axis=-1, keepdims=True)
    steer = p.seek(s.pos, s.anchors) * np.minimum(d * 20.0, 1.0) + 0.05 * w.rng.normal(
        0, 1, s.pos.shape
    )
    return steer, 0.8, _idle_predator(s), 0.5


def _territorial(w: World, s: WorldState):
    centre = s.anchors[:1]
    return p.patrol(s.pos, centre, 0.2), 1.0, _idle_predator(s), 0.5


def _mating(w: World, s: WorldState):
    return p.orbit_partner(s.pos) + 0.2 * p.cohesion(s.pos), 0.9, _idle_predator(s), 0.5


def _migration(w: World, s: WorldState):
    steer = 3.0 * s.heading[None] + 0.5 * p.cohesion(s.pos)
    s.pos[:, :2] = np.where(
        s.pos[:, :2] >= 0.999, 0.001, np.where(s.pos[:, :2] <= 0.001, 0.998, s.pos[:, :2])
    )
    return steer - p.walls(s.pos), 1.0, _idle_predator(s), 0.5


def _playing(w: World, s: WorldState):
    flip = np.where(w.rng.random((len(s.pos), 1)) < 0.25, -1.0, 1.0)
    return (
        flip * s.vel / max(w.species.speed, 1e-6) + p.orbit_partner(s.pos),
        1.5,
        _idle_predator(s),
        0.5,
    )


_STEERING = {
    "hunting": _hunting,
    "grazing": _grazing,
    "flocking": _flocking,
    "nesting": _nesting,
    "territorial": _territorial,
    "mating": _mating,
    "migration": _migration,
    "playing": _playing,
}
