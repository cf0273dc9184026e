"""The motion generator: lip sync on the audio clock, blinks, head, gaze, gestures."""

import math

import numpy as np
import pytest

from avatar.blendshapes import ARKIT_BLENDSHAPES, BLENDSHAPE_INDEX
from avatar.motion import FPS, MotionGenerator, euler_to_quaternion
from avatar.visemes import VISEME_INDEX, VisemeSegment

JAW = BLENDSHAPE_INDEX["jawOpen"]


def speech(*items):
    """Contiguous segments from (viseme, duration) pairs starting at t=0."""
    out, t = [], 0.0
    for viseme, duration in items:
        out.append(VisemeSegment(viseme, t, t + duration))
        t += duration
    return out


def test_frame_has_about_seventy_floats_and_valid_ranges():
    frame = MotionGenerator().frame_at(0.5)
    wire = frame.to_wire()
    floats = len(wire["vis"]) + len(wire["bs"]) + len(wire["head"]) + len(wire["gaze"])
    assert (len(wire["vis"]), len(wire["bs"]), floats) == (15, 52, 73)
    assert len(ARKIT_BLENDSHAPES) == 52
    assert all(0.0 <= x <= 1.0 for x in frame.blendshapes)
    assert math.isclose(sum(q * q for q in frame.head), 1.0, rel_tol=1e-6)


def test_dominant_viseme_switches_on_the_phoneme_boundary():
    generator = MotionGenerator()
    generator.add_speech(speech(("sil", 0.2), ("aa", 0.2), ("PP", 0.1), ("ou", 0.2)))
    for t, expected in [(0.1, "sil"), (0.21, "aa"), (0.29, "aa"), (0.42, "PP"), (0.55, "ou")]:
        weights = generator.frame_at(t).visemes
        assert int(np.argmax(weights)) == VISEME_INDEX[expected], (t, weights)
    # Coarticulation: just before the boundary the next viseme is already rising.
    before = generator.frame_at(0.19).visemes
    assert 0.0 < before[VISEME_INDEX["aa"]] < before[VISEME_INDEX["sil"]]


def test_mouth_opens_on_vowels_and_closes_on_bilabials():
    generator = MotionGenerator()
    generator.add_speech(speech(("sil", 0.2), ("aa", 0.3), ("PP", 0.15), ("sil", 0.3)))
    assert generator.frame_at(0.35).blendshapes[JAW] > 0.5
    closed = generator.frame_at(0.575).blendshapes
    assert closed[JAW] < 0.15 and closed[BLENDSHAPE_INDEX["mouthClose"]] > 0.4
    assert generator.frame_at(0.9).blendshapes[JAW] == 0.0


def test_blinks_happen_at_natural_intervals_while_idle():
    generator = MotionGenerator(seed=3)
    blinks = [generator.frame_at(k / FPS).blendshapes[BLENDSHAPE_INDEX["eyeBlinkLeft"]]
              for k in range(60 * FPS)]  # fmt: skip
    closings = sum(1 for a, b in zip(blinks, blinks[1:], strict=False) if a < 0.5 <= b)
    assert 8 <= closings <= 30  # one every 2-7 s over a minute


def test_head_moves_while_idle_and_nods_on_stress():
    generator = MotionGenerator()
    poses = {generator.frame_at(t).head for t in (0.0, 1.0, 2.0)}
    assert len(poses) == 3
    generator.add_speech([VisemeSegment("aa", 5.0, 5.3, stressed=True)])
    calm, nod = generator.frame_at(4.9).head, generator.frame_at(5.14).head
    pitch = lambda q: math.asin(2 * (q[0] * q[1] - q[2] * q[3]))  # noqa: E731
    assert pitch(nod) - pitch(calm) > 0.04


def test_gaze_averts_while_thinking_and_gesture_follows_action():
    generator = MotionGenerator()
    assert max(abs(g) for g in generator.frame_at(1.0).gaze) < 0.1
    generator.set_state("thinking", 1.0)
    assert generator.frame_at(1.1).gaze[0] > 0.15
    generator.set_state("speaking", 2.0)
    generator.set_action("encourage", 2.0)
    frame = generator.frame_at(2.3)
    assert frame.gesture == "thumbs_up" and 0 < frame.gesture_progress < 1
    assert frame.blendshapes[BLENDSHAPE_INDEX["mouthSmileLeft"]] > 0.5
    assert generator.frame_at(4.0).gesture is None


def test_frames_cover_the_60hz_grid():
    frames = MotionGenerator().frames_between(0.0, 1.0)
    assert len(frames) == 60
    assert frames[1].t == pytest.approx(1 / 60) and frames[-1].seq == 60


def test_out_of_order_speech_is_refused():
    generator = MotionGenerator()
    generator.add_speech(speech(("aa", 0.2)))
    with pytest.raises(ValueError, match="time order"):
        generator.add_speech([VisemeSegment("ou", 0.1, 0.2)])


def test_quaternion_identity():
    assert euler_to_quaternion(0, 0, 0) == (1.0, 0.0, 0.0, 0.0)


def test_default_action_until_the_planner_lands():
    from avatar.motion import default_action

    assert default_action("Good question! Plants need light.") == "encourage"
    assert default_action("Can you tell me what light does?") == "check"
    assert default_action("Plants turn light into sugar.") == "explain"
