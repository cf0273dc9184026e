"""ARKit's 52 blendshape names, and how much of each a viseme moves.

The viseme→blendshape matrix turns 15 viseme weights into mouth and jaw blendshapes with one
small matrix product per frame; eyes, brows and cheeks are driven separately (motion.py).
"""

from __future__ import annotations

import numpy as np

from avatar.visemes import VISEME_INDEX, VISEMES

ARKIT_BLENDSHAPES: tuple[str, ...] = (
    "eyeBlinkLeft", "eyeLookDownLeft", "eyeLookInLeft", "eyeLookOutLeft", "eyeLookUpLeft",
    "eyeSquintLeft", "eyeWideLeft", "eyeBlinkRight", "eyeLookDownRight", "eyeLookInRight",
    "eyeLookOutRight", "eyeLookUpRight", "eyeSquintRight", "eyeWideRight", "jawForward",
    "jawLeft", "jawRight", "jawOpen", "mouthClose", "mouthFunnel", "mouthPucker", "mouthLeft",
    "mouthRight", "mouthSmileLeft", "mouthSmileRight", "mouthFrownLeft", "mouthFrownRight",
    "mouthDimpleLeft", "mouthDimpleRight", "mouthStretchLeft", "mouthStretchRight",
    "mouthRollLower", "mouthRollUpper", "mouthShrugLower", "mouthShrugUpper", "mouthPressLeft",
    "mouthPressRight", "mouthLowerDownLeft", "mouthLowerDownRight", "mouthUpperUpLeft",
    "mouthUpperUpRight", "browDownLeft", "browDownRight", "browInnerUp", "browOuterUpLeft",
    "browOuterUpRight", "cheekPuff", "cheekSquintLeft", "cheekSquintRight", "noseSneerLeft",
    "noseSneerRight", "tongueOut",
)  # fmt: skip
BLENDSHAPE_INDEX = {name: index for index, name in enumerate(ARKIT_BLENDSHAPES)}

# Mouth shape of each viseme at full weight (unlisted blendshapes stay 0).
_VISEME_SHAPES: dict[str, dict[str, float]] = {
    "sil": {},
    "PP": {"mouthClose": 0.6, "mouthPressLeft": 0.5, "mouthPressRight": 0.5, "jawOpen": 0.05},
    "FF": {
        "mouthRollLower": 0.6,
        "mouthUpperUpLeft": 0.2,
        "mouthUpperUpRight": 0.2,
        "jawOpen": 0.1,
    },
    "TH": {"tongueOut": 0.4, "jawOpen": 0.2},
    "DD": {"jawOpen": 0.25, "mouthStretchLeft": 0.1, "mouthStretchRight": 0.1},
    "kk": {"jawOpen": 0.3, "mouthStretchLeft": 0.1, "mouthStretchRight": 0.1},
    "CH": {"mouthFunnel": 0.5, "jawOpen": 0.2, "mouthShrugUpper": 0.2},
    "SS": {"jawOpen": 0.1, "mouthStretchLeft": 0.3, "mouthStretchRight": 0.3},
    "nn": {"jawOpen": 0.2, "mouthShrugUpper": 0.1},
    "RR": {"mouthFunnel": 0.3, "mouthPucker": 0.2, "jawOpen": 0.2},
    "aa": {"jawOpen": 0.7, "mouthLowerDownLeft": 0.3, "mouthLowerDownRight": 0.3},
    "E": {"jawOpen": 0.4, "mouthStretchLeft": 0.3, "mouthStretchRight": 0.3},
    "ih": {"jawOpen": 0.25, "mouthStretchLeft": 0.4, "mouthStretchRight": 0.4},
    "oh": {"jawOpen": 0.5, "mouthFunnel": 0.6},
    "ou": {"jawOpen": 0.2, "mouthPucker": 0.8, "mouthFunnel": 0.3},
}


def viseme_blendshape_matrix() -> np.ndarray:
    """A (15, 52) float32 matrix: row v is viseme v's blendshape pose."""
    matrix = np.zeros((len(VISEMES), len(ARKIT_BLENDSHAPES)), dtype=np.float32)
    for viseme, shape in _VISEME_SHAPES.items():
        for name, weight in shape.items():
            matrix[VISEME_INDEX[viseme], BLENDSHAPE_INDEX[name]] = weight
    return matrix


# How open the jaw is for each viseme: the lip-sync quality measure compares tracks of this.
JAW_OPENNESS = viseme_blendshape_matrix()[:, BLENDSHAPE_INDEX["jawOpen"]].copy()
