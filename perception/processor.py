"""The live perception processor: camera frames and mic audio → z-JEPA latents and learner
observations, computed off the event loop.

Audio passes straight through (only a cheap RMS is taken on the loop); image frames are
consumed here. At most one encode job runs at a time: a frame arriving while it runs replaces
the one waiting, so under load stale frames are dropped instead of queued.
"""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor

import cv2
import numpy as np
import torch
from loguru import logger
from pipecat.frames.frames import Frame, InputAudioRawFrame, InputImageRawFrame
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor

from perception.frames import LatentFrame, LearnerObservationFrame
from perception.observations import FaceDetector, VoiceActivity, motion_energy
from perception.sim.sounds import SAMPLE_RATE
from perception.streaming import StreamingVideoEncoder
from perception.zjepa import ZJEPA


class PerceptionProcessor(FrameProcessor):
    def __init__(self, model: ZJEPA, fps: float = 8.0, observe_every_s: float = 0.5, **kwargs):
        super().__init__(**kwargs)
        self.model = model.eval()
        self.stream = StreamingVideoEncoder(model.target_video)
        self.image = model.config.image
        self.min_gap = 1.0 / fps
        self.observe_every_s = observe_every_s
        self.faces = FaceDetector()
        self.voice = VoiceActivity()
        self.window = int(model.config.seconds * SAMPLE_RATE)
        self._audio: list[np.ndarray] = []
        self._audio_len = 0
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="perception")
        self._waiting: InputImageRawFrame | None = None
        self._busy = False
        self._last_sampled = 0.0
        self._last_observed = 0.0
        self._previous: np.ndarray | None = None
        self._face: bool | None = None
        self._energy = 0.0
        self.dropped = 0
        self.audio_windows = 0

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        if isinstance(frame, InputImageRawFrame):
            self._offer_image(frame)
            return  # nothing downstream renders the learner's camera
        if isinstance(frame, InputAudioRawFrame):
            await self.push_frame(frame, direction)  # first: audio never waits for perception
            self._take_audio(frame)
            await self._maybe_observe()
            return
        await self.push_frame(frame, direction)

    # -- video ------------------------------------------------------------------------------
    def _offer_image(self, frame: InputImageRawFrame) -> None:
        now = time.monotonic()
        if now - self._last_sampled < self.min_gap:
            return  # above the sampling rate: not a drop, just not needed
        self._last_sampled = now
        if self._busy:
            if self._waiting is not None:
                self.dropped += 1
            self._waiting = frame
            return
        self._start(self._encode_image, frame)

    def _start(self, job, arg) -> None:
        self._busy = True
        self.create_task(self._run(job, arg), name="perception-encode")

    async def _run(self, job, arg) -> None:
        loop = asyncio.get_running_loop()
        try:
            for out in await loop.run_in_executor(self._pool, job, arg):
                await self.push_frame(out)
        finally:
            self._busy = False
        if self._waiting is not None:
            frame, self._waiting = self._waiting, None
            self._start(self._encode_image, frame)

    def _encode_image(self, frame: InputImageRawFrame) -> list[LatentFrame]:
        try:
            rgb = _to_rgb(frame)
        except ValueError as exc:
            logger.warning(f"perception: dropped a camera frame: {exc}")
            return []
        self._face = self.faces.present(rgb)
        small = cv2.resize(rgb, (self.image, self.image), interpolation=cv2.INTER_AREA)
        self._energy = motion_energy(self._previous, small)
        self._previous = small
        started = time.perf_counter()
        latents = self.stream.push(torch.from_numpy(small)[None, None])  # pairs into tubelets
        ms = (time.perf_counter() - started) * 1000
        return [LatentFrame("video", self.stream.steps, z[0].numpy(), ms) for z in latents]

    # -- audio ------------------------------------------------------------------------------
    def _take_audio(self, frame: InputAudioRawFrame) -> None:
        self.voice.add(frame.audio, frame.sample_rate, frame.num_channels)
        if frame.sample_rate != SAMPLE_RATE or frame.num_channels != 1:
            return  # the encoder is trained on 16 kHz mono; stats above still count
        samples = np.frombuffer(frame.audio, dtype=np.int16).astype(np.float32) / 32768.0
        self._audio.append(samples)
        self._audio_len += samples.size
        if self._audio_len < self.window:
            return
        window = np.concatenate(self._audio)[-self.window :]
        self._audio, self._audio_len = [], 0
        if self._busy:
            self.dropped += 1
            return
        self._start(self._encode_audio, window)

    def _encode_audio(self, window: np.ndarray) -> list[LatentFrame]:
        started = time.perf_counter()
        with torch.no_grad():
            z, _ = self.model.target_audio(torch.from_numpy(window)[None])
        self.audio_windows += 1
        ms = (time.perf_counter() - started) * 1000
        return [LatentFrame("audio", self.audio_windows, z[0].numpy(), ms)]

    # -- observations -----------------------------------------------------------------------
    async def _maybe_observe(self) -> None:
        now = time.monotonic()
        if now - self._last_observed < self.observe_every_s:
            return
        self._last_observed = now
        await self.push_frame(
            LearnerObservationFrame(
                face_present=self._face,
                motion_energy=round(self._energy, 4),
                speaking_fraction=round(self.voice.speaking_fraction, 3),
                silence_s=round(self.voice.silence_s, 2),
                video_steps=self.stream.steps,
                frames_dropped=self.dropped,
            )
        )

    async def cleanup(self) -> None:
        await super().cleanup()
        self._pool.shutdown(wait=False, cancel_futures=True)


MAX_SIDE = 4096  # larger camera frames are refused, not resized


def _to_rgb(frame: InputImageRawFrame) -> np.ndarray:
    width, height = frame.size
    if not (0 < width <= MAX_SIDE and 0 < height <= MAX_SIDE):
        raise ValueError(f"image size {width}x{height} does not match 1..{MAX_SIDE} per side")
    data = np.frombuffer(frame.image, dtype=np.uint8)
    channels = data.size // max(1, width * height)
    if channels not in (3, 4) or data.size != width * height * channels:
        raise ValueError(f"image of {data.size} bytes does not match {width}x{height} RGB/RGBA")
    return data.reshape(height, width, channels)[..., :3]
