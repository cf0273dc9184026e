"""The answer's first clause starts at its first sound; alignments stay on the audio."""

from __future__ import annotations

import numpy as np
from pipecat.frames.frames import (
    LLMFullResponseEndFrame,
    LLMFullResponseStartFrame,
    LLMTextFrame,
    TTSAudioRawFrame,
    TTSSpeakFrame,
)
from pipecat.tests.utils import run_test

from speech.frames import PhonemeAlignment, PhonemeAlignmentFrame
from speech.leading_quiet import KEEP_S, LIMIT_S, drop_lead, quiet_lead_samples
from speech.tts import AlignedPiperTTSService, alignment_frame, chunk_audio

RATE = 22050


def tone(quiet_samples: int, loud_samples: int = 2000) -> np.ndarray:
    lead = np.full(quiet_samples, 50, dtype=np.int16)  # hum below the threshold
    loud = (8000 * np.sin(np.arange(loud_samples) / 5.0)).astype(np.int16)
    return np.concatenate([lead, loud])


def test_cut_stops_just_before_the_first_sound() -> None:
    cut = quiet_lead_samples(tone(1000), RATE)
    assert cut == 1000 - round(KEEP_S * RATE) + 1  # sin(0) = 0: the first loud sample is 1001


def test_nothing_is_cut_from_loud_or_silent_audio() -> None:
    assert quiet_lead_samples(tone(0), RATE) == 0
    assert quiet_lead_samples(np.zeros(5000, dtype=np.int16), RATE) == 0


def test_a_long_silence_is_cut_at_most_the_limit() -> None:
    assert quiet_lead_samples(tone(20000), RATE) == round(LIMIT_S * RATE)


def test_alignments_lose_exactly_the_cut() -> None:
    items = [PhonemeAlignment("^", 512), PhonemeAlignment("b", 300), PhonemeAlignment("i", 900)]
    kept = drop_lead(items, 600)
    assert [a.phoneme for a in kept] == ["b", "i"]
    assert sum(a.num_samples for a in kept) == 1712 - 600
    assert drop_lead(items, 0) == items


def leading_quiet_ms(pcm: np.ndarray, rate: int) -> float:
    return float(np.argmax(np.abs(pcm.astype(np.int32)) > 1000)) / rate * 1000.0


async def spoken(frames: list) -> tuple[np.ndarray, int, list[PhonemeAlignmentFrame]]:
    down, _ = await run_test(
        AlignedPiperTTSService(), frames_to_send=frames, expected_down_frames=None
    )
    audio = [f for f in down if isinstance(f, TTSAudioRawFrame)]
    pcm = np.frombuffer(b"".join(f.audio for f in audio), dtype=np.int16)
    return pcm, audio[0].sample_rate, [f for f in down if isinstance(f, PhonemeAlignmentFrame)]


async def test_real_piper_answer_starts_sooner_and_stays_aligned() -> None:
    text = "Bees collect nectar."
    answer, rate, alignments = await spoken(
        [LLMFullResponseStartFrame(), LLMTextFrame(text), LLMFullResponseEndFrame()]
    )
    line, line_rate, line_alignments = await spoken([TTSSpeakFrame(text)])
    assert leading_quiet_ms(line, line_rate) > 25  # Piper's own lead-in, kept for a line
    assert leading_quiet_ms(answer, rate) < leading_quiet_ms(line, line_rate) - 15
    assert len(alignments) == len(line_alignments) == 1


def test_real_piper_chunk_alignments_cover_the_trimmed_audio(piper_voice) -> None:
    chunk = next(iter(piper_voice.synthesize("Bees collect nectar.", include_alignments=True)))
    audio, cut = chunk_audio(chunk, trim_lead=True)
    frame = alignment_frame(chunk, "Bees collect nectar.", None, cut)
    assert cut > 0.02 * chunk.sample_rate  # Piper's lead-in was there and went
    assert frame is not None and frame.total_samples == len(audio) // 2  # int16 bytes
    untrimmed, none_cut = chunk_audio(chunk, trim_lead=False)
    assert none_cut == 0 and len(untrimmed) == len(audio) + 2 * cut
