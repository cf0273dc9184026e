"""The ecosystem simulator: seeded animal behaviour in five biomes, rendered for z-JEPA training.

Labels (behaviour, next behaviour, description) ride along with every clip for evaluation
and the text-alignment head only; the self-supervised losses never read them.
"""

from perception.sim.catalog import BEHAVIOURS, BIOMES, Biome, Species
from perception.sim.clips import Clip, ClipSpec, ClipStream, make_clip

__all__ = [
    "BEHAVIOURS",
    "BIOMES",
    "Biome",
    "Clip",
    "ClipSpec",
    "ClipStream",
    "Species",
    "make_clip",
]
