"""The motion generator: visemes, blendshapes, head, gaze, blinks and gestures at 60 Hz.

Time is the session's audio output clock. Speech adds viseme segments (from Piper's
alignments) and loudness samples; the generator answers "what does the face look like at
time t?" for any t, so it animates while idle and listening as well as while speaking.
Everything is deterministic for a given seed, which keeps tests and evals repeatable.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass, field

import numpy as np

from avatar.blendshapes import BLENDSHAPE_INDEX, viseme_blendshape_matrix
from avatar.frames import MotionFrame
from avatar.visemes import VISEMES, VisemeSegment

FPS = 60
FRAME_S = 1.0 / FPS
CROSSFADE_S = 0.035  # half-width of the blend between neighbouring visemes (coarticulation)
BLINK_CLOSE_S, BLINK_OPEN_S = 0.06, 0.09
NOD_S = 0.28

# The gesture each tutoring action shows (a default set until the planner drives it).
ACTION_GESTURES: dict[str, str] = {
    "explain": "open_palms",
    "example": "open_palms",
    "check": "head_tilt",
    "hint": "point",
    "encourage": "thumbs_up",
    "listen": "nod",
    "summarise": "count_fingers",
}
PRAISE = ("great", "good job", "well done", "exactly", "nice", "good question")


def default_action(text: str) -> str:
    """The action a spoken sentence suggests, standing in until the planner names one."""
    lowered = text.lower()
    if any(word in lowered for word in PRAISE):
        return "encourage"
    if lowered.rstrip().endswith("?"):
        return "check"
    return "explain"


ACTION_SMILE: dict[str, float] = {"encourage": 0.6, "explain": 0.15, "check": 0.25}
GESTURE_S = 1.2

_BS = BLENDSHAPE_INDEX


def euler_to_quaternion(yaw: float, pitch: float, roll: float) -> tuple[float, float, float, float]:
    """(w, x, y, z) for yaw about y, pitch about x, roll about z (radians)."""
    cy, sy = math.cos(yaw / 2), math.sin(yaw / 2)
    cp, sp = math.cos(pitch / 2), math.sin(pitch / 2)
    cr, sr = math.cos(roll / 2), math.sin(roll / 2)
    return (
        cr * cp * cy + sr * sp * sy,
        cr * sp * cy + sr * cp * sy,
        cr * cp * sy - sr * sp * cy,
        sr * cp * cy - cr * sp * sy,
    )


def bell(x: float) -> float:
    """A smooth 0→1→0 bump over x in [0, 1]."""
    return math.sin(math.pi * x) ** 2 if 0.0 <= x <= 1.0 else 0.0


def viseme_weights(segments: list[VisemeSegment], starts: list[float], t: float) -> np.ndarray:
    """Coarticulated viseme weights at t: each segment fades in and out over CROSSFADE_S
    around its edges, so neighbours blend and the dominant viseme switches on the boundary."""
    weights = np.zeros(len(VISEMES), dtype=np.float32)
    first = max(0, bisect.bisect_right(starts, t + CROSSFADE_S) - 1)
    index = first
    while index >= 0 and segments[index].end_s + CROSSFADE_S > t:
        index -= 1
    for seg in segments[index + 1 : first + 1]:
        rise = (t - (seg.start_s - CROSSFADE_S)) / (2 * CROSSFADE_S)
        fall = ((seg.end_s + CROSSFADE_S) - t) / (2 * CROSSFADE_S)
        weight = min(1.0, max(0.0, rise)) * min(1.0, max(0.0, fall))
        weights[seg.index] = max(weights[seg.index], weight)
    if not weights.any():
        weights[0] = 1.0  # silence
    return weights


@dataclass
class MotionGenerator:
    """Per-session motion state; feed it speech and state changes, ask it for frames."""

    seed: int = 0
    segments: list[VisemeSegment] = field(default_factory=list)
    state: str = "idle"
    action: str | None = None
    _starts: list[float] = field(default_factory=list)
    _loudness_t: list[float] = field(default_factory=list)
    _loudness: list[float] = field(default_factory=list)
    _nods: list[float] = field(default_factory=list)
    _gesture_start: float | None = None
    _seq: int = 0

    def __post_init__(self) -> None:
        self._rng = np.random.default_rng(self.seed)
        self._viseme_pose = viseme_blendshape_matrix()
        self._blinks = self._blink_times(0.0, 600.0)
        self._saccade: tuple[int, tuple[float, float]] = (-1, (0.0, 0.0))  # (index, gaze)

    # -- inputs -------------------------------------------------------------------------

    def add_speech(self, segments: list[VisemeSegment]) -> None:
        """Append viseme segments (in time order); stressed syllables get a small nod."""
        for seg in segments:
            if self.segments and seg.start_s < self.segments[-1].end_s - 1e-9:
                raise ValueError("viseme segments must arrive in time order, without overlap")
            self.segments.append(seg)
            self._starts.append(seg.start_s)
            if seg.stressed and seg.viseme in ("aa", "E", "ih", "oh", "ou"):
                if not self._nods or seg.start_s - self._nods[-1] > 1.2:
                    self._nods.append(seg.start_s)

    def add_loudness(self, t: float, rms: float) -> None:
        """Loudness (0..1) of the audio at time t, for brows and emphasis."""
        self._loudness_t.append(t)
        self._loudness.append(rms)

    def set_state(self, state: str, t: float) -> None:
        if state == "listening" and self.state != "listening":
            self._nods.extend(t + 0.8 + 2.4 * k for k in range(4))  # listening nods
        self.state = state

    def set_action(self, action: str | None, t: float) -> None:
        """The planner's action for this turn: its gesture starts now."""
        self.action = action
        self._gesture_start = t if action in ACTION_GESTURES else None

    def forget_before(self, t: float) -> None:
        """Drop history older than t so a long session keeps constant memory."""
        keep = bisect.bisect_left(self._starts, t - 1.0)
        del self.segments[:keep], self._starts[:keep]
        keep = bisect.bisect_left(self._loudness_t, t - 1.0)
        del self._loudness_t[:keep], self._loudness[:keep]
        self._nods = [n for n in self._nods if n > t - NOD_S]

    # -- output -------------------------------------------------------------------------

    def frame_at(self, t: float) -> MotionFrame:
        """The avatar at audio-clock time t."""
        visemes = viseme_weights(self.segments, self._starts, t) if self.segments else None
        if visemes is None:
            visemes = np.zeros(len(VISEMES), dtype=np.float32)
            visemes[0] = 1.0
        blend = visemes @ self._viseme_pose
        loud = self._loudness_at(t)
        blink = self._blink_at(t)
        blend[_BS["eyeBlinkLeft"]] = blend[_BS["eyeBlinkRight"]] = blink
        brow = 0.35 * loud if self.state == "speaking" else 0.0
        if self.state == "thinking":
            brow = 0.3
        blend[_BS["browInnerUp"]] = brow
        blend[_BS["browOuterUpLeft"]] = blend[_BS["browOuterUpRight"]] = 0.5 * brow
        smile = ACTION_SMILE.get(self.action or "", 0.1)
        blend[_BS["mouthSmileLeft"]] = blend[_BS["mouthSmileRight"]] = smile
        blend[_BS["cheekSquintLeft"]] = blend[_BS["cheekSquintRight"]] = 0.4 * smile
        gaze = self._gaze_at(t)
        look_up, look_side = max(0.0, gaze[1]) * 2.0, gaze[0] * 2.0
        blend[_BS["eyeLookUpLeft"]] = blend[_BS["eyeLookUpRight"]] = min(1.0, look_up)
        blend[_BS["eyeLookOutLeft"]] = blend[_BS["eyeLookInRight"]] = min(1.0, max(0.0, look_side))
        np.clip(blend, 0.0, 1.0, out=blend)
        gesture, progress = self._gesture_at(t)
        self._seq += 1
        return MotionFrame(
            seq=self._seq,
            t=t,
            visemes=visemes.tolist(),
            blendshapes=blend.tolist(),
            head=self._head_at(t),
            gaze=gaze,
            state=self.state,
            gesture=gesture,
            gesture_progress=progress,
        )

    def frames_between(self, start_s: float, end_s: float) -> list[MotionFrame]:
        """Frames on the 60 Hz grid in [start_s, end_s)."""
        first = math.ceil(start_s * FPS - 1e-9)
        last = math.ceil(end_s * FPS - 1e-9)
        return [self.frame_at(k / FPS) for k in range(first, last)]

    # -- channels -----------------------------------------------------------------------

    def _blink_times(self, start: float, end: float) -> list[float]:
        times, t = [], start
        while t < end:
            t += float(self._rng.gamma(2.5, 1.4))  # mean 3.5 s, rarely under 1 s
            times.append(t)
        return times

    def _blink_at(self, t: float) -> float:
        if t > self._blinks[-1]:
            self._blinks = self._blink_times(self._blinks[-1], t + 600.0)
        index = bisect.bisect_right(self._blinks, t) - 1
        if index < 0:
            return 0.0
        since = t - self._blinks[index]
        if since < BLINK_CLOSE_S:
            return since / BLINK_CLOSE_S
        if since < BLINK_CLOSE_S + BLINK_OPEN_S:
            return 1.0 - (since - BLINK_CLOSE_S) / BLINK_OPEN_S
        return 0.0

    def _loudness_at(self, t: float) -> float:
        index = bisect.bisect_right(self._loudness_t, t) - 1
        if index < 0 or t - self._loudness_t[index] > 0.1:
            return 0.0
        return float(self._loudness[index])

    def _head_at(self, t: float) -> tuple[float, float, float, float]:
        yaw = 0.03 * math.sin(2 * math.pi * 0.11 * t) + 0.012 * math.sin(
            2 * math.pi * 0.29 * t + 1.0
        )
        pitch = 0.02 * math.sin(2 * math.pi * 0.07 * t + 0.5)
        roll = 0.01 * math.sin(2 * math.pi * 0.05 * t + 2.0)
        index = bisect.bisect_right(self._nods, t) - 1
        if index >= 0:
            pitch += 0.07 * bell((t - self._nods[index]) / NOD_S)
        if self.state == "thinking":
            roll += 0.05
        if self._gesture_at(t)[0] == "head_tilt":
            roll += 0.08 * bell(self._gesture_at(t)[1])
        return euler_to_quaternion(yaw, pitch, roll)

    def _gaze_at(self, t: float) -> tuple[float, float]:
        if self.state == "thinking":
            return (0.22, 0.18)  # averted up and aside while thinking
        saccade = math.floor(t / 1.3)
        if self._saccade[0] != saccade:  # a generator per saccade, not per frame (60 Hz)
            jitter = np.random.default_rng(self.seed * 100003 + saccade).normal(0.0, 0.015, 2)
            self._saccade = (saccade, (float(jitter[0]), float(jitter[1])))
        return self._saccade[1]

    def _gesture_at(self, t: float) -> tuple[str | None, float]:
        if self._gesture_start is None or self.action is None:
            return None, 0.0
        progress = (t - self._gesture_start) / GESTURE_S
        if not 0.0 <= progress <= 1.0:
            return None, 0.0
        return ACTION_GESTURES[self.action], progress
