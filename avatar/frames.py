"""Frame types the avatar package emits: one MotionFrame per 1/60 s of the audio clock."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

MOTION_PROTOCOL_VERSION = 2


@dataclass
class MotionFrame:
    """Everything the renderer needs for one instant: 73 floats, a gesture and a state.

    `t` is seconds on the session's audio output clock (0 = the first sample sent), so the
    client shows the frame when its audio playout reaches `t`.
    """

    seq: int
    t: float
    visemes: list[float]  # 15, in avatar.visemes.VISEMES order
    blendshapes: list[float]  # 52, in avatar.blendshapes.ARKIT_BLENDSHAPES order
    head: tuple[float, float, float, float]  # unit quaternion (w, x, y, z)
    gaze: tuple[float, float]  # yaw, pitch in radians; (0, 0) looks at the learner
    state: str  # idle | listening | thinking | speaking
    gesture: str | None = None
    gesture_progress: float = 0.0

    def to_wire(self) -> dict[str, Any]:
        """The compact JSON message documented in docs/protocol.md."""
        return {
            "v": MOTION_PROTOCOL_VERSION,
            "type": "motion",
            "seq": self.seq,
            "t": round(self.t, 4),
            "vis": [round(x, 3) for x in self.visemes],
            "bs": [round(x, 3) for x in self.blendshapes],
            "head": [round(x, 4) for x in self.head],
            "gaze": [round(x, 4) for x in self.gaze],
            "state": self.state,
            "gesture": self.gesture,
            "gp": round(self.gesture_progress, 3),
        }
