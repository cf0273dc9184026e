"""Whisper on a window cut to the utterance, so the encoder's cost follows the audio length.

faster-whisper pads every call to Whisper's 30 s window, so tiny.en's encoder costs the same
for a two-second question as for a long one. CTranslate2 encodes a shorter window just as
well and far faster, but a window cut right after the speech makes Whisper loop: it repeats
the question until the token limit. A window of at least 10 s, with the speech followed by
real silence, ended every test question cleanly (`eco1 eval asr`; the figures are in
docs/latency.md, "Whisper on a shorter window"). Two guards keep the rest safe: a token
budget proportional to the speech, and a loop check (a repeated three-word run); a result
failing either is decoded again on the full window.
"""

from __future__ import annotations

import math

import ctranslate2
import numpy as np
from faster_whisper import WhisperModel
from faster_whisper.tokenizer import Tokenizer

SAMPLE_RATE = 16_000
FULL_WINDOW_S = 30.0  # Whisper's training window; the encoder has no positions past it
TAIL_S = 1.0  # silence after the speech, so the decoder hears the question end
FRAMES_PER_S = 100  # mel frames per second (hop of 160 samples)


def window_seconds(duration_s: float, min_window_s: float) -> float | None:
    """The encoder window for this much speech, or None when only the full window fits."""
    window = max(min_window_s, math.ceil(duration_s + TAIL_S))
    return None if window >= FULL_WINDOW_S else float(window)


def token_budget(duration_s: float) -> int:
    """Most text tokens a question this long can need (fast speech is ~5 tokens/s)."""
    return int(12 + 8 * duration_s)


def looks_looped(text: str, run: int = 3) -> bool:
    """True if some run of `run` words occurs twice: Whisper repeating itself."""
    words = ["".join(ch for ch in word.lower() if ch.isalnum()) for word in text.split()]
    seen: set[tuple[str, ...]] = set()
    for start in range(len(words) - run + 1):
        key = tuple(words[start : start + run])
        if key in seen:
            return True
        seen.add(key)
    return False


def windowed_features(model: WhisperModel, audio: np.ndarray, window_s: float) -> np.ndarray:
    """Log-mel features of the audio followed by silence, `window_s` long (1, mels, frames)."""
    padded = np.zeros(int(window_s * SAMPLE_RATE), dtype=np.float32)
    padded[: len(audio)] = audio
    features = model.feature_extractor(padded, padding=0)[:, : int(window_s * FRAMES_PER_S)]
    return np.ascontiguousarray(features[None], dtype=np.float32)


def transcribe_windowed(
    model: WhisperModel, audio: np.ndarray, *, beam_size: int, min_window_s: float
) -> tuple[str, float] | None:
    """(text, no-speech probability) of 16 kHz float audio on a short window.

    None when the caller should decode on the full window instead: the speech is too long
    for a shorter one, or the result ran out of tokens or repeats itself.
    """
    duration = len(audio) / SAMPLE_RATE
    window = window_seconds(duration, min_window_s)
    if window is None:
        return None
    tokenizer = Tokenizer(
        model.hf_tokenizer, model.model.is_multilingual, task="transcribe", language="en"
    )
    prompt = [*tokenizer.sot_sequence, tokenizer.no_timestamps]
    budget = token_budget(duration)
    features = ctranslate2.StorageView.from_array(windowed_features(model, audio, window))
    result = model.model.generate(
        features,
        [prompt],
        beam_size=beam_size,
        max_length=len(prompt) + budget,
        return_no_speech_prob=True,
        suppress_blank=True,
        suppress_tokens=[-1],  # the model's own list, as faster-whisper passes it
    )[0]
    tokens = [t for t in result.sequences_ids[0] if t < tokenizer.eot]
    text = tokenizer.decode(tokens).strip()
    if len(tokens) >= budget or looks_looped(text):
        return None
    return text, float(result.no_speech_prob)
