"""Learner observations from raw camera frames and microphone chunks: cheap, model-free."""

from __future__ import annotations

from collections import deque

import cv2
import numpy as np

FACE_CASCADE = "haarcascade_frontalface_default.xml"
VOICE_RMS = 0.02  # int16 full scale = 1.0; above this a 20 ms chunk counts as voiced


class FaceCascadeMissing(FileNotFoundError):
    """OpenCV without its face cascade: perception cannot start (a startup error)."""


def face_cascade(opencv=None) -> cv2.CascadeClassifier:
    """OpenCV's frontal-face Haar cascade; FaceCascadeMissing, saying what to do, where this
    OpenCV has none (checked at startup, so a session never fails on it)."""
    opencv = opencv or cv2
    fix = "install opencv-python-headless>=4.8 or set ECO1_PERCEPTION__ENABLED=false"
    data = getattr(opencv, "data", None)
    if not hasattr(opencv, "CascadeClassifier") or data is None:
        raise FaceCascadeMissing(
            f"this OpenCV ({getattr(opencv, '__version__', '?')}) has no Haar cascades "
            f"(CascadeClassifier); {fix}"
        )
    path = data.haarcascades + FACE_CASCADE
    cascade = opencv.CascadeClassifier(path)
    if cascade.empty():
        raise FaceCascadeMissing(f"OpenCV face cascade not found at {path}; {fix}")
    return cascade


class FaceDetector:
    """OpenCV's bundled Haar cascade, run on a downscaled grey frame."""

    def __init__(self, width: int = 160) -> None:
        self.cascade = face_cascade()
        self.width = width

    def present(self, rgb: np.ndarray) -> bool:
        h, w = rgb.shape[:2]
        scale = self.width / max(w, 1)
        small = cv2.resize(rgb, (self.width, max(1, int(h * scale)))) if scale < 1 else rgb
        grey = cv2.equalizeHist(cv2.cvtColor(small, cv2.COLOR_RGB2GRAY))
        faces = self.cascade.detectMultiScale(
            grey, scaleFactor=1.1, minNeighbors=4, minSize=(20, 20)
        )
        return len(faces) > 0


def motion_energy(previous: np.ndarray | None, current: np.ndarray) -> float:
    """Mean absolute pixel change in [0, 1] between two equally sized uint8 frames."""
    if previous is None or previous.shape != current.shape:
        return 0.0
    return float(np.abs(current.astype(np.int16) - previous.astype(np.int16)).mean() / 255.0)


class VoiceActivity:
    """Running speaking/silence statistics over the last `seconds` of 16-bit PCM."""

    def __init__(self, seconds: float = 3.0) -> None:
        self.seconds = seconds
        self.chunks: deque[tuple[float, bool]] = deque()
        self.silence_s = 0.0

    def add(self, pcm: bytes, sample_rate: int, channels: int = 1) -> None:
        samples = np.frombuffer(pcm, dtype=np.int16)
        if samples.size == 0:
            return
        duration = samples.size / channels / sample_rate
        rms = float(np.sqrt(np.mean((samples.astype(np.float32) / 32768.0) ** 2)))
        voiced = rms > VOICE_RMS
        self.silence_s = 0.0 if voiced else self.silence_s + duration
        self.chunks.append((duration, voiced))
        total = sum(d for d, _ in self.chunks)
        while self.chunks and total - self.chunks[0][0] >= self.seconds:
            total -= self.chunks.popleft()[0]

    @property
    def speaking_fraction(self) -> float:
        total = sum(d for d, _ in self.chunks)
        return sum(d for d, v in self.chunks if v) / total if total else 0.0
