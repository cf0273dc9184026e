"""z-JEPA: video, audio and point-cloud JEPAs trained together, with cross-modal heads.

Each modality predicts its masked tokens' EMA-target latents from its visible ones. On top,
audio predicts the clip's pooled video latent, and pooled video aligns contrastively with a
sentence embedding of the clip's caption. Sizes run from `tiny` (CPU) to `huge` (GPU).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from perception.audio import AudioEncoder
from perception.layers import sincos_grid
from perception.masks import V_JEPA_BLOCKS, gather_tokens, sample_masks, sequence_masks
from perception.moe import MoEConfig
from perception.objectives import caption_contrastive, jepa_l1, layer_normed
from perception.points import PointEncoder
from perception.predictor import Predictor
from perception.video import VIT_SIZES, VideoEncoder, ViTConfig, to_video_tensor

TEXT_DIM = 384  # all-MiniLM-L6-v2
VIDEO_MASKS = ("short", "long", "future")


@dataclass(frozen=True)
class ZJEPAConfig:
    name: str
    encoder: str  # key of VIT_SIZES for the video encoder
    side_encoder: str  # audio and point encoders
    predictor: ViTConfig
    frames: int
    image: int
    points: int
    fps: float = 8.0
    moe: MoEConfig | None = None
    loss_weights: dict[str, float] = field(
        default_factory=lambda: {"video": 1.0, "audio": 1.0, "points": 1.0, "av": 0.5, "text": 0.5}
    )

    @property
    def seconds(self) -> float:
        return self.frames / self.fps


CONFIGS: dict[str, ZJEPAConfig] = {
    "tiny": ZJEPAConfig("tiny", "tiny", "tiny", ViTConfig(64, 2, 2), 8, 64, 256),
    "tiny-moe": ZJEPAConfig(
        "tiny-moe", "tiny", "tiny", ViTConfig(64, 2, 2), 8, 64, 256, moe=MoEConfig()
    ),
    "small": ZJEPAConfig("small", "small", "tiny", ViTConfig(192, 6, 6), 16, 224, 1024),
    "base": ZJEPAConfig("base", "base", "small", ViTConfig(384, 12, 12), 16, 224, 2048),
    "large": ZJEPAConfig("large", "large", "small", ViTConfig(384, 12, 12), 16, 256, 2048),
    "huge": ZJEPAConfig("huge", "huge", "base", ViTConfig(384, 12, 12), 16, 256, 4096),
}


@dataclass
class Batch:
    video: torch.Tensor  # (B, T, H, W, 3) uint8
    audio: torch.Tensor  # (B, S) float
    points: torch.Tensor  # (B, P, 3)
    pans: torch.Tensor  # (B, T, 2)
    text: torch.Tensor  # (B, TEXT_DIM) caption embeddings
    caption_ids: torch.Tensor  # (B,) equal ids = equal captions


class ZJEPA(nn.Module):
    def __init__(self, config: ZJEPAConfig) -> None:
        super().__init__()
        self.config = config
        side = VIT_SIZES[config.side_encoder]
        self.video = VideoEncoder(
            VIT_SIZES[config.encoder], config.frames, config.image, config.moe
        )
        self.audio = AudioEncoder(side, config.seconds, config.moe)
        self.points = PointEncoder(side, moe=config.moe)
        self.target_video = _frozen_copy(self.video)
        self.target_audio = _frozen_copy(self.audio)
        self.target_points = _frozen_copy(self.points)
        p = config.predictor
        self.video_predictor = Predictor(self.video.dim, p)
        self.audio_predictor = Predictor(self.audio.dim, p)
        self.point_predictor = Predictor(self.points.dim, p)
        self.register_buffer("video_pos", sincos_grid(p.dim, self.video.grid), persistent=False)
        self.register_buffer(
            "audio_pos", sincos_grid(p.dim, (self.audio.num_tokens,)), persistent=False
        )
        self.pan_embed = nn.Linear(2, p.dim)
        self.carry_in = nn.Linear(self.video.dim, p.dim)
        self.point_pos = nn.Linear(3, p.dim)
        self.audio_to_video = nn.Sequential(
            nn.Linear(self.audio.dim, 2 * self.video.dim),
            nn.GELU(),
            nn.Linear(2 * self.video.dim, self.video.dim),
        )
        self.video_to_text = nn.Linear(self.video.dim, TEXT_DIM)
        self.text_log_scale = nn.Parameter(torch.tensor(float(np.log(1 / 0.07))))

    def online_modules(self) -> list[tuple[nn.Module, nn.Module]]:
        """(target, online) pairs for the EMA update."""
        return [
            (self.target_video, self.video),
            (self.target_audio, self.audio),
            (self.target_points, self.points),
        ]

    def video_positions(self, idx: torch.Tensor, pans: torch.Tensor) -> torch.Tensor:
        """Predictor positions for video tokens idx (B, n): grid place plus camera displacement."""
        steps = self.video.grid[0]
        step_of = idx // self.video.tokens_per_step
        moved = torch.cumsum(pans, dim=1) - pans  # displacement before each frame
        per_step = moved[:, :: self.config.frames // steps]  # (B, steps, 2)
        shift = torch.gather(per_step, 1, step_of.unsqueeze(-1).expand(-1, -1, 2))
        return self.video_pos[idx] + self.pan_embed(shift * 10.0)

    def video_masks(self, kind: str, batch: int, rng: np.random.Generator):
        if kind == "future":
            n, last = self.video.num_tokens, self.video.tokens_per_step
            ctx = torch.arange(n - last).expand(batch, -1)
            return ctx, torch.arange(n - last, n).expand(batch, -1)
        spec = V_JEPA_BLOCKS[0] if kind == "short" else V_JEPA_BLOCKS[1]
        return sample_masks(batch, self.video.grid, spec, rng)

    def forward(
        self, batch: Batch, mask_kind: str, rng: np.random.Generator
    ) -> dict[str, torch.Tensor]:
        """Every training loss for one batch, weighted sum under "total" (forward, for DDP)."""
        b = batch.video.shape[0]
        video = to_video_tensor(batch.video)
        with torch.no_grad():
            tv, _ = self.target_video(video)
            ta, _ = self.target_audio(batch.audio)
            tp, _ = self.target_points(batch.points)
        out: dict[str, torch.Tensor] = {}
        ctx, tgt = self.video_masks(mask_kind, b, rng)
        zv, aux_v = self.video(video, ctx)
        pred = self.predict_video(zv, ctx, tgt, batch.pans, future=mask_kind == "future")
        out["video"] = jepa_l1(pred, gather_tokens(tv, tgt))
        actx, atgt = sequence_masks(b, self.audio.num_tokens, 0.5, rng)
        za, aux_a = self.audio(batch.audio, actx)
        pred = self.audio_predictor(za, self.audio_pos[actx], self.audio_pos[atgt])
        out["audio"] = jepa_l1(pred, gather_tokens(ta, atgt))
        pctx, ptgt = sequence_masks(b, self.points.num_tokens, 0.4, rng)
        centres = self.points.positions(batch.points)
        zp, aux_p = self.points(batch.points, pctx)
        pos = self.point_pos(centres)
        pred = self.point_predictor(zp, gather_tokens(pos, pctx), gather_tokens(pos, ptgt))
        out["points"] = jepa_l1(pred, gather_tokens(tp, ptgt))
        out["av"] = (self.audio_to_video(za.mean(1)) - layer_normed(tv.mean(1))).abs().mean()
        out["text"] = caption_contrastive(
            self.video_to_text(zv.mean(1)), batch.text, batch.caption_ids, self.text_log_scale
        )
        weights = self.config.loss_weights
        total = sum(weights[k] * v for k, v in out.items()) + aux_v + aux_a + aux_p
        out["moe_aux"] = aux_v + aux_a + aux_p
        out["total"] = total
        return out

    @torch.no_grad()
    def encode_video(self, frames: torch.Tensor) -> torch.Tensor:
        """uint8 (B, T, H, W, 3) → target-encoder latents (B, N, D): what downstream uses."""
        return self.target_video(to_video_tensor(frames))[0]

    @torch.no_grad()
    def predict_future(self, frames: torch.Tensor, pans: torch.Tensor) -> torch.Tensor:
        """Latents of the clip's last tubelet step predicted from the earlier ones, (B, S, D)."""
        b = frames.shape[0]
        ctx, tgt = self.video_masks("future", b, np.random.default_rng(0))
        video = to_video_tensor(frames)
        z, _ = self.target_video(video, ctx)
        return self.predict_video(z, ctx, tgt, pans, future=True)

    def future_loss(self, frames: torch.Tensor, pans: torch.Tensor) -> torch.Tensor:
        """The look-ahead task alone, encoders frozen (training's final predictor phase)."""
        video = to_video_tensor(frames)
        ctx, tgt = self.video_masks("future", video.shape[0], np.random.default_rng(0))
        with torch.no_grad():
            target, _ = self.target_video(video)
            z = target[:, : ctx.shape[1]]  # frame-causal: the context's own encoding
        pred = self.predict_video(z, ctx, tgt, pans, future=True)
        return jepa_l1(pred, gather_tokens(target, tgt))

    def predict_video(self, z, ctx, tgt, pans, future: bool) -> torch.Tensor:
        """The predictor over video tokens. Looking ahead, it predicts a change: the last
        observed step's latents (layer-normed) are both its input at the target positions
        and the base its output is added to, so "nothing moves" is the easy answer and
        motion and camera pans are what it has to learn."""
        target_pos = self.video_positions(tgt, pans)
        if not future:
            return self.video_predictor(z, self.video_positions(ctx, pans), target_pos)
        last = layer_normed(z[:, -self.video.tokens_per_step :])
        target_pos = target_pos + self.carry_in(last)
        return last + self.video_predictor(z, self.video_positions(ctx, pans), target_pos)


def _frozen_copy(module: nn.Module) -> nn.Module:
    target = copy.deepcopy(module)
    for p in target.parameters():
        p.requires_grad_(False)
    return target
