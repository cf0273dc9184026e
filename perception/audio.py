"""Audio encoder: log-mel computed with torch (no torchaudio), then a transformer over time
strips of 4 frames × all mel bands, so tokens follow time and stream naturally."""

from __future__ import annotations

import torch
from torch import nn

from perception.layers import Transformer, sincos_grid
from perception.masks import gather_tokens
from perception.moe import MoEConfig
from perception.sim.sounds import SAMPLE_RATE
from perception.video import ViTConfig

N_FFT, HOP, N_MELS = 400, 160, 64
FRAMES_PER_TOKEN = 4


def _hz_to_mel(f: torch.Tensor) -> torch.Tensor:
    return 2595.0 * torch.log10(1.0 + f / 700.0)


def mel_filterbank(n_mels: int = N_MELS, n_fft: int = N_FFT, sr: int = SAMPLE_RATE) -> torch.Tensor:
    """(n_fft//2+1, n_mels) triangular HTK filters."""
    freqs = torch.linspace(0, sr / 2, n_fft // 2 + 1)
    mel_points = torch.linspace(0.0, float(_hz_to_mel(torch.tensor(sr / 2.0))), n_mels + 2)
    hz_points = 700.0 * (10 ** (mel_points / 2595.0) - 1.0)
    lower, centre, upper = hz_points[:-2], hz_points[1:-1], hz_points[2:]
    up = (freqs[:, None] - lower) / (centre - lower)
    down = (upper - freqs[:, None]) / (upper - centre)
    return torch.clamp(torch.minimum(up, down), min=0.0)


def log_mel(audio: torch.Tensor) -> torch.Tensor:
    """(B, S) float audio at 16 kHz → (B, frames, N_MELS) log-mel, frames = S // HOP."""
    if audio.dim() != 2:
        raise ValueError(f"expected mono audio (B, samples), got {tuple(audio.shape)}")
    window = torch.hann_window(N_FFT, device=audio.device)
    spec = torch.stft(audio, N_FFT, HOP, window=window, center=True, return_complex=True)
    power = spec.abs().pow(2)[..., : audio.shape[1] // HOP]
    fb = mel_filterbank().to(audio.device)
    mel = torch.einsum("bft,fm->btm", power, fb)
    return torch.log(mel + 1e-6)


class AudioEncoder(nn.Module):
    def __init__(self, size: ViTConfig, seconds: float, moe: MoEConfig | None = None) -> None:
        super().__init__()
        frames = int(seconds * SAMPLE_RATE) // HOP
        self.tokens = frames // FRAMES_PER_TOKEN
        self.dim = size.dim
        self.norm_in = nn.LayerNorm(N_MELS * FRAMES_PER_TOKEN)
        self.patch = nn.Linear(N_MELS * FRAMES_PER_TOKEN, size.dim)
        self.register_buffer("pos", sincos_grid(size.dim, (self.tokens,)), persistent=False)
        self.body = Transformer(size.dim, size.depth, size.heads, size.mlp_ratio, moe)

    @property
    def num_tokens(self) -> int:
        return self.tokens

    def embed(self, audio: torch.Tensor) -> torch.Tensor:
        mel = log_mel(audio)[:, : self.tokens * FRAMES_PER_TOKEN]
        if mel.shape[1] < self.tokens * FRAMES_PER_TOKEN:
            raise ValueError(f"audio too short: {audio.shape[1]} samples for {self.tokens} tokens")
        strips = mel.reshape(mel.shape[0], self.tokens, FRAMES_PER_TOKEN * N_MELS)
        return self.patch(self.norm_in(strips)) + self.pos

    def forward(self, audio: torch.Tensor, keep: torch.Tensor | None = None):
        x = self.embed(audio)
        if keep is not None:
            x = gather_tokens(x, keep)
        return self.body(x)
