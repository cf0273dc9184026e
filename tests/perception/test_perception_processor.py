"""The live perception processor: audio first and untouched, latents off the loop, stale
camera frames dropped instead of queued, learner observations, bad frames survived."""

from __future__ import annotations

import time

import numpy as np
import pytest
import torch
from pipecat.frames.frames import InputAudioRawFrame, InputImageRawFrame
from pipecat.tests.utils import SleepFrame, run_test

from perception.frames import LatentFrame, LearnerObservationFrame
from perception.observations import FaceDetector, VoiceActivity, motion_energy
from perception.processor import PerceptionProcessor
from perception.sim import make_clip
from perception.zjepa import CONFIGS, ZJEPA


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return ZJEPA(CONFIGS["tiny"]).eval()


def image(i: int, size: int = 96) -> InputImageRawFrame:
    frame = make_clip(i).video[i % 8]
    big = np.kron(frame, np.ones((size // 64 + 1, size // 64 + 1, 1), np.uint8))[:size, :size]
    return InputImageRawFrame(image=big.tobytes(), size=(size, size), format="RGB")


def mic(seconds: float, level: float = 0.0, rate: int = 16000) -> InputAudioRawFrame:
    t = np.arange(int(seconds * rate)) / rate
    pcm = (np.sin(2 * np.pi * 220 * t) * level * 32767).astype(np.int16)
    return InputAudioRawFrame(audio=pcm.tobytes(), sample_rate=rate, num_channels=1)


async def test_audio_passes_first_and_images_become_latents(model):
    proc = PerceptionProcessor(model, fps=1000, observe_every_s=0.0)
    audio = [mic(0.02, 0.3) for _ in range(3)]
    sent = [image(0), SleepFrame(0.3), image(1), SleepFrame(0.3), *audio, SleepFrame(0.2)]
    down, _ = await run_test(proc, frames_to_send=sent)
    assert [f for f in down if isinstance(f, InputAudioRawFrame)] == audio
    assert not any(isinstance(f, InputImageRawFrame) for f in down)
    latents = [f for f in down if isinstance(f, LatentFrame) and f.modality == "video"]
    assert len(latents) == 1 and latents[0].latents.shape == (16, 96)  # two frames, one tubelet
    observed = [f for f in down if isinstance(f, LearnerObservationFrame)]
    assert observed and observed[-1].video_steps == 1 and observed[-1].face_present is False
    assert observed[-1].speaking_fraction == 1.0 and observed[-1].motion_energy > 0


async def test_a_second_of_mic_audio_is_encoded(model):
    proc = PerceptionProcessor(model, observe_every_s=10.0)
    down, _ = await run_test(proc, frames_to_send=[mic(1.0, 0.2), SleepFrame(0.5)])
    audio = [f for f in down if isinstance(f, LatentFrame) and f.modality == "audio"]
    assert len(audio) == 1 and audio[0].latents.shape == (25, 96)


async def test_stale_frames_are_dropped_not_queued(model):
    proc = PerceptionProcessor(model, fps=1000, observe_every_s=10.0)
    real_push = proc.stream.push

    def slow_push(frames):
        time.sleep(0.4)
        return real_push(frames)

    proc.stream.push = slow_push
    burst = []
    for i in range(6):
        burst += [image(i), SleepFrame(0.02)]
    down, _ = await run_test(proc, frames_to_send=[*burst, SleepFrame(1.2)])
    assert proc.dropped >= 3  # only the newest waiting frame survives each busy spell
    encoded = proc.stream.steps * 2 + (proc.stream._pending is not None)
    assert encoded <= 3


async def test_a_malformed_camera_frame_is_dropped_and_the_stream_goes_on(model):
    proc = PerceptionProcessor(model, fps=1000, observe_every_s=0.0)
    bad = InputImageRawFrame(image=b"\x00" * 10, size=(96, 96), format="RGB")
    sent = [bad, SleepFrame(0.2), image(0), SleepFrame(0.2), image(1), SleepFrame(0.3)]
    down, _ = await run_test(proc, frames_to_send=[*sent, mic(0.02), SleepFrame(0.1)])
    assert any(isinstance(f, LatentFrame) for f in down)


def test_observation_helpers():
    assert FaceDetector().present(make_clip(0).video[0]) is False
    a, b = make_clip(0).video[0], make_clip(0).video[1]
    assert motion_energy(None, a) == 0.0 and motion_energy(a, a) == 0.0
    assert 0 < motion_energy(a, b) < 1
    voice = VoiceActivity(seconds=1.0)
    loud = (np.ones(320) * 8000).astype(np.int16).tobytes()
    quiet = np.zeros(320, np.int16).tobytes()
    for _ in range(25):
        voice.add(loud, 16000)
    for _ in range(25):
        voice.add(quiet, 16000)
    assert voice.speaking_fraction == pytest.approx(0.5, abs=0.05)
    assert voice.silence_s == pytest.approx(0.5)


def test_an_opencv_without_haar_cascades_stops_the_server_at_startup(monkeypatch):
    """An H100 image's OpenCV had no CascadeClassifier: every session start failed (HTTP 500).
    The startup check names the fix instead, before a port is bound."""
    import types

    import perception.observations as observations
    from agent.config import load_settings
    from agent.edge.serve import check_model_files

    assert not observations.face_cascade().empty()  # the pinned OpenCV has it
    bare = types.SimpleNamespace(__version__="5.0.0")
    with pytest.raises(observations.FaceCascadeMissing, match="ECO1_PERCEPTION__ENABLED=false"):
        observations.face_cascade(bare)
    monkeypatch.setattr(observations, "cv2", bare)
    with pytest.raises(
        observations.FaceCascadeMissing, match=r"OpenCV \(5.0.0\) has no Haar cascades"
    ):
        check_model_files(load_settings())
    check_model_files(load_settings(overrides={"perception": {"enabled": False}}))
