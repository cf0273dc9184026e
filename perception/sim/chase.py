"""A control task in the simulator: steer the predator onto a prey animal.

The camera rides with the predator (an egocentric view), so what the predator sees says
where the prey are relative to it. One task step is one tubelet: two frames under the same
action. The prey keep their own behaviour: grazing until the predator is close, then
zig-zag escape.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from perception.sim.catalog import BIOMES
from perception.sim.render import ground_texture, render_frame
from perception.sim.world import World

FRAMES_PER_STEP = 2
CATCH_DISTANCE = 0.06
PREDATOR_TOP_SPEED = 0.028  # faster than fleeing prey, so a good pursuit can win


@dataclass
class ChaseTask:
    seed: int
    size: int = 64
    biome: str = "savanna"
    world: World = field(init=False)

    def __post_init__(self) -> None:
        rng = np.random.default_rng(self.seed)
        biome = BIOMES[self.biome]
        self.world = World(biome, biome.species[1], "hunting", rng, herd_size=6)
        self.world.segment_left = 1 << 30  # the prey stay in hunting mode
        s = self.world.state
        angle = rng.uniform(0, 2 * np.pi)  # start a fixed distance from the herd's centre
        s.predator_pos = np.clip(
            np.array(
                [*(s.pos[:, :2].mean(0) + 0.45 * np.array([np.cos(angle), np.sin(angle)])), 0]
            ),
            0.05,
            0.95,
        )
        self.texture = ground_texture(self.world)
        self._follow()
        self.frames = [render_frame(self.world, self.texture, self.size)] * FRAMES_PER_STEP

    def _follow(self) -> None:
        self.world.state.camera = np.clip(self.world.state.predator_pos[:2], 0.2, 0.8)

    def distance(self) -> float:
        s = self.world.state
        return float(np.linalg.norm(s.pos[:, :2] - s.predator_pos[:2], axis=1).min())

    def caught(self) -> bool:
        return self.distance() < CATCH_DISTANCE

    def observation(self) -> np.ndarray:
        """The last step's frames, (2, H, W, 3) uint8."""
        return np.stack(self.frames)

    def goal(self) -> np.ndarray:
        """What the predator would see standing on the nearest prey (the goal image)."""
        s = self.world.state
        nearest = s.pos[np.argmin(np.linalg.norm(s.pos[:, :2] - s.predator_pos[:2], axis=1))]
        saved = (s.camera.copy(), s.predator_pos.copy())
        s.predator_pos = np.array([nearest[0], nearest[1], 0.0])
        self._follow()
        frame = render_frame(self.world, self.texture, self.size)
        s.camera, s.predator_pos = saved
        return np.stack([frame] * FRAMES_PER_STEP)

    def step(self, action: np.ndarray) -> bool:
        """Move with velocity action·top speed (action clipped to the unit disc) for one
        tubelet (both frames always render); returns whether a prey was caught in it."""
        a = np.asarray(action, dtype=float)[:2]
        norm = np.linalg.norm(a)
        a = a / norm if norm > 1 else a
        self.frames = []
        s = self.world.state
        caught = False
        for _ in range(FRAMES_PER_STEP):
            before = s.predator_pos.copy()
            self.world.step()  # the prey move (reacting to where the predator is)
            s.predator_vel = np.array([*(a * PREDATOR_TOP_SPEED), 0.0])
            s.predator_pos = np.clip(before + s.predator_vel, 0.0, 1.0)  # ours, not its policy
            self._follow()
            self.frames.append(render_frame(self.world, self.texture, self.size))
            caught = caught or self.caught()
        return caught

    def scripted_action(self) -> np.ndarray:
        """The simulator's own stalking primitive (full speed at the nearest prey)."""
        s = self.world.state
        nearest = s.pos[np.argmin(np.linalg.norm(s.pos[:, :2] - s.predator_pos[:2], axis=1))]
        d = nearest[:2] - s.predator_pos[:2]
        return d / max(np.linalg.norm(d), 1e-9)
