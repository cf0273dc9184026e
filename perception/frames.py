"""Frame types perception emits into the live pipeline."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from pipecat.frames.frames import DataFrame


@dataclass
class LatentFrame(DataFrame):
    """z-JEPA latents of one chunk: a tubelet step of video or a window of mic audio."""

    modality: str = "video"
    step: int = 0
    latents: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), np.float32))
    encode_ms: float = 0.0


@dataclass
class LearnerObservationFrame(DataFrame):
    """What the camera and microphone say about the learner right now."""

    face_present: bool | None = None  # None until a camera frame has been seen
    motion_energy: float = 0.0  # mean absolute change between sampled frames, 0..1
    speaking_fraction: float = 0.0  # share of the last seconds with voice-level energy
    silence_s: float = 0.0  # how long the microphone has been quiet
    video_steps: int = 0
    frames_dropped: int = 0
