"""z-JEPA models: shapes, masks, EMA, streaming equivalence, loss falling, checkpoints."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from perception.audio import AudioEncoder, log_mel, mel_filterbank
from perception.layers import frame_causal_mask
from perception.masks import V_JEPA_BLOCKS, sample_masks, sequence_masks, tube_mask
from perception.objectives import ema_update, jepa_l1, momentum_at
from perception.points import PointEncoder, farthest_points
from perception.sim import make_clip
from perception.streaming import StreamingVideoEncoder
from perception.video import VIT_SIZES, VideoEncoder, to_video_tensor
from perception.zjepa import CONFIGS, ZJEPA, Batch

TINY = VIT_SIZES["tiny"]


def _batch(n: int = 4, seed: int = 0) -> Batch:
    clips = [make_clip(seed + i) for i in range(n)]
    stack = lambda k: torch.from_numpy(np.stack([getattr(c, k) for c in clips]))  # noqa: E731
    ids = torch.tensor([c.behaviour for c in clips])
    text = torch.nn.functional.one_hot(ids, 384).float()
    return Batch(stack("video"), stack("audio"), stack("points"), stack("pans"), text, ids)


def test_encoders_produce_one_latent_per_token():
    torch.manual_seed(0)
    video = VideoEncoder(TINY, frames=8, image=64)
    clip = torch.from_numpy(make_clip(0).video)[None]
    z, aux = video(to_video_tensor(clip))
    assert z.shape == (1, 4 * 4 * 4, 96) and float(aux) == 0.0
    audio = AudioEncoder(TINY, seconds=1.0)
    za, _ = audio(torch.from_numpy(make_clip(0).audio)[None])
    assert za.shape == (1, 25, 96)
    points = PointEncoder(TINY)
    zp, _ = points(torch.from_numpy(make_clip(0).points)[None])
    assert zp.shape == (1, 16, 96)


def test_bad_inputs_are_refused_with_clear_errors():
    with pytest.raises(ValueError, match="uint8"):
        to_video_tensor(torch.zeros(1, 8, 64, 64, 3))
    with pytest.raises(ValueError, match="tubelets"):
        VideoEncoder(TINY, frames=7, image=64)
    with pytest.raises(ValueError, match="too short"):
        AudioEncoder(TINY, seconds=1.0)(torch.zeros(1, 4000))


def test_log_mel_peaks_at_the_tone():
    fb = mel_filterbank()
    assert fb.shape == (201, 64) and torch.all(fb >= 0)
    t = torch.arange(16000) / 16000
    mel = log_mel(torch.sin(2 * torch.pi * 1000 * t)[None])
    assert mel.shape == (1, 100, 64)
    peak_hz = (fb[:, mel[0].mean(0).argmax()] * torch.linspace(0, 8000, 201)).sum() / fb[
        :, mel[0].mean(0).argmax()
    ].sum()
    assert 800 < float(peak_hz) < 1250


def test_tube_masks_span_all_time_and_keep_context():
    rng = np.random.default_rng(0)
    for spec in V_JEPA_BLOCKS:
        mask = tube_mask((4, 4, 4), spec, rng)
        assert np.all(mask == mask[:1])  # a tube: the same blocks at every time step
    ctx, tgt = sample_masks(6, (4, 4, 4), V_JEPA_BLOCKS[0], rng)
    assert ctx.shape[0] == tgt.shape[0] == 6 and ctx.shape[1] >= 6
    for c, t in zip(ctx, tgt, strict=True):
        assert not set(c.tolist()) & set(t.tolist())  # context never sees a target
    ctx, tgt = sequence_masks(3, 25, 0.5, rng)
    assert tgt.shape == (3, 12) and ctx.shape == (3, 13)
    assert torch.all(tgt[:, 1:] - tgt[:, :-1] == 1)  # one contiguous span


def test_frame_causal_window():
    times = torch.tensor([0, 0, 1, 2, 3])
    mask = frame_causal_mask(times, window=2)
    assert mask[1, 0] and mask[0, 1]  # same step sees each other
    assert mask[2, 0] and not mask[0, 2]  # the past, never the future
    assert not mask[3, 0]  # beyond the window


def test_farthest_points_spread_out():
    xyz = torch.tensor([[[0.0, 0, 0], [0.01, 0, 0], [1, 0, 0], [0, 1, 0]]])
    assert set(farthest_points(xyz, 3)[0].tolist()) == {0, 2, 3}


def test_ema_update_and_schedule():
    online, target = torch.nn.Linear(2, 2), torch.nn.Linear(2, 2)
    with torch.no_grad():
        online.weight.fill_(1.0)
        target.weight.fill_(0.0)
    ema_update(target, online, momentum=0.9)
    assert torch.allclose(target.weight, torch.full((2, 2), 0.1))
    assert momentum_at(0, 100) == 0.996 and momentum_at(100, 100) == 1.0
    assert momentum_at(50, 100) == pytest.approx(0.998)


def test_jepa_loss_is_zero_only_for_the_normed_target():
    target = torch.randn(2, 5, 8) * 3 + 1
    normed = torch.nn.functional.layer_norm(target, (8,))
    assert float(jepa_l1(normed, target)) < 1e-6
    assert float(jepa_l1(target, target)) > 0.5


def test_streaming_equals_the_frame_causal_model():
    torch.manual_seed(0)
    encoder = VideoEncoder(TINY, frames=8, image=64).eval()  # window of 4 steps
    frames = torch.from_numpy(np.concatenate([make_clip(s).video for s in range(3)]))[None]
    with torch.no_grad():
        full, _ = encoder(to_video_tensor(frames))  # 24 frames: 12 steps, 3 windows long
    stream = StreamingVideoEncoder(encoder)
    chunks = []
    for start in range(0, 24, 3):  # odd-sized pushes: half tubelets wait for their pair
        chunks += stream.push(frames[:, start : start + 3])
    streamed = torch.cat(chunks, dim=1)
    assert streamed.shape == full.shape
    assert torch.allclose(streamed, full, atol=1e-4)
    assert stream.cache.length == encoder.window * encoder.tokens_per_step  # bounded


def test_every_loss_falls_on_a_short_run():
    torch.manual_seed(0)
    model = ZJEPA(CONFIGS["tiny"])
    batch = _batch(8)
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-3)
    rng = np.random.default_rng(0)
    first = None
    for _ in range(25):
        out = model(batch, "short", rng)
        optimizer.zero_grad()
        out["total"].backward()
        optimizer.step()
        for target, online in model.online_modules():
            ema_update(target, online, 0.99)
        first = first or {k: float(v.detach()) for k, v in out.items()}
    last = {k: float(v.detach()) for k, v in out.items()}
    for name in ("video", "audio", "points", "av", "text", "total"):
        assert last[name] < first[name], (name, first[name], last[name])


def test_moe_config_trains_with_an_auxiliary_loss():
    torch.manual_seed(0)
    model = ZJEPA(CONFIGS["tiny-moe"])
    out = model(_batch(2), "future", np.random.default_rng(0))
    assert float(out["moe_aux"]) > 0
    out["total"].backward()
    assert model.video.body.blocks[0].moe.router.weight.grad is not None
