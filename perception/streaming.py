"""Chunk-by-chunk video encoding with a cached key/value state.

Each push of one tubelet step (2 frames) attends to itself and the cached keys of the
window−1 steps before it, exactly as the frame-causal model attends within its window; older
keys are dropped, so the cost per chunk stays flat however long the stream runs.
"""

from __future__ import annotations

import torch

from perception.layers import KVCache
from perception.video import TUBELET, VideoEncoder, to_video_tensor


class StreamingVideoEncoder:
    """Wraps a trained VideoEncoder; `push` frames, get latents of completed tubelet steps."""

    def __init__(self, encoder: VideoEncoder) -> None:
        self.encoder = encoder.eval()
        self.reset()

    def reset(self) -> None:
        self.cache = KVCache()
        self.steps = 0
        self._pending: torch.Tensor | None = None

    @torch.no_grad()
    def push(self, frames: torch.Tensor) -> list[torch.Tensor]:
        """uint8 (B, n, H, W, 3) → one (B, tokens_per_step, D) latent per completed step."""
        frames = frames if self._pending is None else torch.cat([self._pending, frames], dim=1)
        per_step = TUBELET[0]
        complete = frames.shape[1] // per_step * per_step
        self._pending = frames[:, complete:] if complete < frames.shape[1] else None
        return [self._step(frames[:, i : i + per_step]) for i in range(0, complete, per_step)]

    def _step(self, frames: torch.Tensor) -> torch.Tensor:
        enc = self.encoder
        x = enc.embed(to_video_tensor(frames))
        self.cache.keep_last((enc.window - 1) * enc.tokens_per_step)
        rope = enc.rope(enc.token_times(1, first=self.steps))
        out, _ = enc.body(x, None, cache=self.cache, rope=rope)
        self.steps += 1
        return out
