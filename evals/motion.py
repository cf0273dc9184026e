"""`eco1 eval motion`: lip-sync timing and cost, against an amplitude-driven baseline.

Tutor sentences are synthesized with Piper's alignments (the ground truth of which phoneme
sounds when). Eco-1's generator animates them at 60 Hz; the baseline opens the mouth from
audio loudness. Both are scored on the same alignment, in the same run:

- `frame_compute_ms`: one frame computed and serialized to its wire JSON.
- `motion_lag_ms`: an audio chunk (40 ms, as the TTS service pushes them) is ready → its
  motion frames are computed and serialized; the chunk that brings a Piper sentence's
  alignment also pays for turning it into viseme segments.
- `av_sync_ms`: for every phoneme whose viseme changes the mouth, |time of the first frame
  showing that viseme − the phoneme's start in the audio|.
- jaw onsets (both methods): every closed→open and open→closed jaw transition of the
  alignment, |when the method's jaw crosses half way − when the audio's does|.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from avatar.blendshapes import BLENDSHAPE_INDEX, JAW_OPENNESS
from avatar.lipsync_baseline import amplitude_jaw_track
from avatar.motion import FPS, MotionGenerator
from avatar.visemes import VISEME_INDEX, VisemeSegment, viseme_segments
from evals.latency import percentiles
from speech.assets import piper_voice_file
from speech.tts import shared_piper_voice

SENTENCES = [
    "Photosynthesis is how plants turn light into food.",
    "The sky looks blue because air scatters blue light the most.",
    "Bees make honey from nectar, and they store it in wax cells.",
    "Gravity pulls every mass toward every other mass.",
    "Good question! Let's check what you remember about the water cycle.",
    "Think about a rainbow: sunlight bends inside each drop of rain.",
    "Plants need water, light, air and a few minerals from the soil.",
    "The moon does not change shape; we just see different parts of it lit.",
]
CLOSED, OPEN = 0.15, 0.35
AUDIO_CHUNK_S = 0.04  # audio frames the TTS service pushes toward the transport


def synthesize_with_alignments(text: str) -> tuple[np.ndarray, int, list[list[tuple[str, int]]]]:
    voice = shared_piper_voice(piper_voice_file())
    chunks = list(voice.synthesize(text, include_alignments=True))
    pcm = np.concatenate([c.audio_int16_array for c in chunks])
    alignments = [[(a.phoneme, int(a.num_samples)) for a in c.phoneme_alignments] for c in chunks]
    return pcm, chunks[0].sample_rate, alignments


def viseme_onset_errors(segments: list[VisemeSegment], shown: np.ndarray, times: np.ndarray):
    """|first frame showing a segment's viseme − its start| for each change of viseme."""
    errors, missed = [], 0
    for previous, seg in zip(segments, segments[1:], strict=False):
        if previous.viseme == seg.viseme:
            continue
        # From the middle of the previous segment on, so an earlier segment with the same
        # viseme is not taken for this one.
        earliest = max(seg.start_s - 0.1, (previous.start_s + previous.end_s) / 2)
        window = (times >= earliest) & (times < seg.end_s + 0.05)
        hits = times[window & (shown == VISEME_INDEX[seg.viseme])]
        if len(hits):
            errors.append(abs(hits[0] - seg.start_s) * 1000.0)
        else:
            missed += 1  # too short to dominate: blended away by coarticulation
    return errors, missed


def jaw_onset_errors(truth: np.ndarray, track: np.ndarray, times: np.ndarray) -> list[float]:
    """Closed↔open transitions of the truth, and how far the track's half-way crossing lags."""
    scale = np.percentile(track, 95) or 1.0
    norm = track / scale * np.percentile(truth, 95)
    half = (CLOSED + OPEN) / 2
    errors = []
    for k in range(1, len(truth)):
        opening = truth[k - 1] <= CLOSED and truth[k] >= OPEN
        closing = truth[k - 1] >= OPEN and truth[k] <= CLOSED
        if not (opening or closing):
            continue
        lo, hi = max(0, k - 6), min(len(times), k + 12)  # search -100 ms .. +200 ms
        crossed = norm[lo:hi] >= half if opening else norm[lo:hi] <= half
        if crossed.any():
            errors.append(abs(times[lo + int(np.argmax(crossed))] - times[k]) * 1000.0)
        else:
            errors.append(200.0)  # never followed within the window
    return errors


def truth_jaw(segments: list[VisemeSegment], times: np.ndarray) -> np.ndarray:
    starts = np.array([s.start_s for s in segments])
    index = np.clip(np.searchsorted(starts, times, side="right") - 1, 0, len(segments) - 1)
    return JAW_OPENNESS[[segments[i].index for i in index]]


def stream_motion(
    chunk_alignments: list, rate: int, seed: int, compute_ms: list[float], lag_ms: list[float]
) -> tuple[list, list]:
    """Motion frames for one sentence, made as the live pipeline makes them: a Piper chunk's
    alignment arrives with its first audio, then the audio goes out in AUDIO_CHUNK_S pieces,
    each with its own frames. Appends each frame's cost and each piece's lag."""
    generator = MotionGenerator(seed=seed)
    generator.set_state("speaking", 0.0)
    offset, frames, segments = 0.0, [], []
    for alignment in chunk_alignments:
        pending_alignment = True
        end = offset + sum(n for _, n in alignment) / rate
        piece_start = offset
        while piece_start < end - 1e-9:
            piece_end = min(end, piece_start + AUDIO_CHUNK_S)
            started = time.perf_counter()
            if pending_alignment:
                chunk_segments = viseme_segments(alignment, rate, offset_s=offset)
                generator.add_speech(chunk_segments)
                segments.extend(chunk_segments)
                pending_alignment = False
            for k in range(math.ceil(piece_start * FPS - 1e-9), math.ceil(piece_end * FPS - 1e-9)):
                tick = time.perf_counter()
                frame = generator.frame_at(k / FPS)
                json.dumps(frame.to_wire(), separators=(",", ":"))
                compute_ms.append((time.perf_counter() - tick) * 1000.0)
                frames.append(frame)
            lag_ms.append((time.perf_counter() - started) * 1000.0)
            piece_start = piece_end
        offset = end
    return frames, segments


def run_motion_eval(out_dir: Path) -> int:
    out_dir.mkdir(parents=True, exist_ok=True)
    compute_ms, lag_ms, av_sync, jaw_eco, jaw_base = [], [], [], [], []
    corr_eco, corr_base, missed, frames_total = [], [], 0, 0
    plot_data: dict[str, Any] = {}
    for number, text in enumerate(tqdm(SENTENCES, desc="motion sentences", unit="sentence")):
        pcm, rate, chunk_alignments = synthesize_with_alignments(text)
        frames, segments = stream_motion(chunk_alignments, rate, number, compute_ms, lag_ms)
        frames_total += len(frames)
        times = np.array([f.t for f in frames])
        shown = np.array([int(np.argmax(f.visemes)) for f in frames])
        errors, miss = viseme_onset_errors(segments, shown, times)
        av_sync.extend(errors)
        missed += miss
        truth = truth_jaw(segments, times)
        eco = np.array([f.blendshapes[BLENDSHAPE_INDEX["jawOpen"]] for f in frames])
        base = amplitude_jaw_track(pcm, rate, times)
        jaw_eco.extend(jaw_onset_errors(truth, eco, times))
        jaw_base.extend(jaw_onset_errors(truth, base, times))
        corr_eco.append(float(np.corrcoef(truth, eco)[0, 1]))
        corr_base.append(float(np.corrcoef(truth, base)[0, 1]))
        if number == 0:
            plot_data = {"pcm": pcm, "rate": rate, "times": times, "frames": frames,
                         "truth": truth, "eco": eco, "base": base, "text": text}  # fmt: skip
    result = {
        "sentences": len(SENTENCES),
        "frames": frames_total,
        "fps": FPS,
        "frame_compute_ms": percentiles(compute_ms),
        "motion_lag_ms": percentiles(lag_ms),
        "av_sync_ms": percentiles(av_sync),
        "viseme_changes_scored": len(av_sync),
        "viseme_changes_blended_away": missed,
        "jaw_onset_ms": {"eco1": percentiles(jaw_eco), "amplitude_baseline": percentiles(jaw_base)},
        "jaw_correlation": {
            "eco1": round(float(np.mean(corr_eco)), 3),
            "amplitude_baseline": round(float(np.mean(corr_base)), 3),
        },
        "goals": {"frame_compute_ms_p95": 1.0, "motion_lag_ms_p95": 20.0, "av_sync_ms_p95": 17.0},
    }
    (out_dir / "motion.json").write_text(json.dumps(result, indent=2) + "\n")
    plot_motion(plot_data, out_dir / "motion.png")
    print(json.dumps({k: result[k] for k in ("frame_compute_ms", "motion_lag_ms", "av_sync_ms",
                                             "jaw_onset_ms", "jaw_correlation")}))  # fmt: skip
    print(f"wrote {out_dir / 'motion.json'} and {out_dir / 'motion.png'}")
    return 0


def plot_motion(data: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from avatar.visemes import VISEMES

    pcm, rate, times = data["pcm"], data["rate"], data["times"]
    fig, (wave, tracks, jaw) = plt.subplots(3, 1, figsize=(12, 7), sharex=True)
    wave.plot(np.arange(len(pcm)) / rate, pcm / 32768.0, linewidth=0.4, color="#555")
    wave.set_ylabel("audio")
    wave.set_title(f"“{data['text']}”")
    weights = np.array([f.visemes for f in data["frames"]]).T
    tracks.imshow(weights, aspect="auto", origin="lower", cmap="Greens",
                  extent=(times[0], times[-1] + 1 / FPS, -0.5, len(VISEMES) - 0.5))  # fmt: skip
    tracks.set_yticks(range(len(VISEMES)), VISEMES, fontsize=7)
    tracks.set_ylabel("viseme weight")
    jaw.plot(times, data["truth"], label="alignment (truth)", drawstyle="steps-post", color="k")
    jaw.plot(times, data["eco"], label="Eco-1 visemes", color="tab:green")
    jaw.plot(times, data["base"], label="amplitude baseline", color="tab:orange")
    jaw.set_ylabel("jawOpen")
    jaw.set_xlabel("seconds on the audio clock")
    jaw.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
