"""Biomes, species and the eight behaviours: the simulator's fixed vocabulary."""

from __future__ import annotations

from dataclasses import dataclass

BEHAVIOURS: tuple[str, ...] = (
    "hunting",
    "grazing",
    "flocking",
    "nesting",
    "territorial",
    "mating",
    "migration",
    "playing",
)

# What tends to follow each behaviour (the chain the anticipation probe has to learn).
SUCCESSOR: dict[str, str] = {
    "hunting": "playing",
    "grazing": "migration",
    "flocking": "nesting",
    "nesting": "mating",
    "territorial": "hunting",
    "mating": "territorial",
    "migration": "grazing",
    "playing": "flocking",
}


@dataclass(frozen=True)
class Species:
    """An animal kind: how it looks, moves and sounds."""

    name: str
    colour: tuple[int, int, int]
    size: float  # body radius in world units
    speed: float  # cruising speed, world units per step
    call_hz: float  # base pitch of its call
    flies: bool = False


@dataclass(frozen=True)
class Biome:
    """A place: its ground colours, its ambient sound and who lives there."""

    name: str
    ground: tuple[int, int, int]
    texture: tuple[int, int, int]
    ambient_noise: float
    species: tuple[Species, ...]
    predator: Species


def _sp(
    name: str,
    colour: tuple[int, int, int],
    size: float,
    speed: float,
    call: float,
    flies: bool = False,
) -> Species:
    return Species(name, colour, size, speed, call, flies)


BIOMES: dict[str, Biome] = {
    "savanna": Biome(
        "savanna",
        (196, 170, 96),
        (160, 140, 70),
        0.02,
        (
            _sp("zebra", (240, 240, 240), 0.030, 0.010, 420.0),
            _sp("gazelle", (150, 90, 40), 0.022, 0.014, 700.0),
        ),
        _sp("lion", (200, 120, 20), 0.035, 0.016, 180.0),
    ),
    "reef": Biome(
        "reef",
        (20, 90, 140),
        (40, 130, 160),
        0.05,
        (
            _sp("clownfish", (255, 120, 0), 0.016, 0.012, 1500.0),
            _sp("tang", (30, 60, 230), 0.018, 0.013, 1200.0),
        ),
        _sp("shark", (120, 130, 140), 0.040, 0.018, 220.0),
    ),
    "canopy": Biome(
        "canopy",
        (30, 100, 40),
        (60, 140, 50),
        0.03,
        (
            _sp("parrot", (230, 30, 40), 0.018, 0.016, 2200.0, True),
            _sp("monkey", (110, 70, 40), 0.026, 0.011, 600.0),
        ),
        _sp("harpy eagle", (90, 90, 90), 0.032, 0.020, 1600.0, True),
    ),
    "tundra": Biome(
        "tundra",
        (225, 232, 240),
        (190, 200, 215),
        0.04,
        (
            _sp("caribou", (120, 85, 60), 0.032, 0.010, 300.0),
            _sp("ptarmigan", (250, 250, 250), 0.015, 0.015, 1800.0, True),
        ),
        _sp("wolf", (70, 70, 80), 0.030, 0.017, 250.0),
    ),
    "urban": Biome(
        "urban",
        (110, 110, 115),
        (80, 80, 90),
        0.06,
        (
            _sp("pigeon", (150, 150, 170), 0.016, 0.014, 900.0, True),
            _sp("rat", (60, 50, 45), 0.014, 0.012, 3000.0),
        ),
        _sp("fox", (210, 100, 30), 0.028, 0.015, 400.0),
    ),
}


def describe(biome: Biome, species: Species, behaviour: str) -> str:
    """The caption the text-alignment head learns to match (never seen by the JEPA losses)."""
    phrases = {
        "hunting": f"a {biome.predator.name} stalks {species.name}s that zig-zag to escape",
        "grazing": f"{species.name}s graze slowly, wandering and pausing",
        "flocking": f"a tight flock of {species.name}s turns together",
        "nesting": f"{species.name}s gather at their nests and settle",
        "territorial": f"a {species.name} patrols the edge of its territory",
        "mating": f"pairs of {species.name}s circle each other in courtship",
        "migration": f"{species.name}s migrate together in one steady direction",
        "playing": f"young {species.name}s chase and bounce around in play",
    }
    return f"{phrases[behaviour]} in the {biome.name}"
