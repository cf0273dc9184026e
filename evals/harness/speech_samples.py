"""Spoken learner questions, synthesized with the packaged Piper voice (no downloads)."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import wave
from pathlib import Path

import numpy as np
import soxr
from piper import SynthesisConfig

from speech.assets import piper_voice_file
from speech.tts import shared_piper_voice

# Questions a learner might ask, each with words a correct transcript must contain.
QUESTIONS: list[tuple[str, tuple[str, ...]]] = [
    ("What is photosynthesis?", ("photosynthesis",)),
    ("Why is the sky blue?", ("sky", "blue")),
    ("How do bees make honey?", ("bees", "honey")),
    ("What is gravity?", ("gravity",)),
    ("Why do birds migrate in winter?", ("birds", "winter")),
    ("How does a rainbow form?", ("rainbow",)),
    ("What do plants need to grow?", ("plants", "grow")),
    ("Why does the moon change shape?", ("moon", "shape")),
]


# Piper samples noise by default, so the same text sounds a little different each time and
# tiny.en sometimes misheard it ("total synthesis"); without noise the samples repeat exactly.
REPRODUCIBLE = SynthesisConfig(noise_scale=0.0, noise_w_scale=0.0)


def synthesize(text: str, rate: int = 48000) -> np.ndarray:
    """int16 mono speech of text at `rate` Hz, from the packaged Piper voice, reproducibly."""
    voice = shared_piper_voice(piper_voice_file())
    chunks = voice.synthesize(text, syn_config=REPRODUCIBLE)
    pcm = np.concatenate([chunk.audio_int16_array for chunk in chunks])
    if voice.config.sample_rate != rate:
        pcm = soxr.resample(pcm, voice.config.sample_rate, rate).astype(np.int16)
    return pcm


# Voices for recognition benchmarks: the packaged Piper voice and two eSpeak NG voices (a
# formant synthesizer, Debian package espeak-ng), which sound nothing like Piper or each other.
ESPEAK_VOICES = {"espeak-us-female": "en-us+f3", "espeak-gb-male": "en-gb+m3"}
VOICES = ("piper-joe", *ESPEAK_VOICES)
ESPEAK_WPM = 175  # eSpeak's default rate; a speed factor scales it


def speak(text: str, voice: str, speed: float = 1.0, rate: int = 16000) -> np.ndarray:
    """int16 mono speech of text in one of VOICES; speed > 1 talks faster."""
    if voice == "piper-joe":
        config = SynthesisConfig(noise_scale=0.0, noise_w_scale=0.0, length_scale=1.0 / speed)
        piper = shared_piper_voice(piper_voice_file())
        chunks = piper.synthesize(text, syn_config=config)
        pcm = np.concatenate([chunk.audio_int16_array for chunk in chunks])
        source_rate = piper.config.sample_rate
    else:
        pcm, source_rate = _espeak(text, ESPEAK_VOICES[voice], round(ESPEAK_WPM * speed))
    return soxr.resample(pcm, source_rate, rate).astype(np.int16) if source_rate != rate else pcm


def _espeak(text: str, voice: str, words_per_minute: int) -> tuple[np.ndarray, int]:
    if shutil.which("espeak-ng") is None:
        raise RuntimeError("eSpeak NG is not installed: apt-get install espeak-ng")
    with tempfile.NamedTemporaryFile(suffix=".wav") as out:
        subprocess.run(
            ["espeak-ng", "-v", voice, "-s", str(words_per_minute), "-w", out.name, text],
            check=True, capture_output=True,
        )  # fmt: skip
        with wave.open(out.name) as handle:
            frames = handle.readframes(handle.getnframes())
            return np.frombuffer(frames, dtype=np.int16).copy(), handle.getframerate()


def write_wav(path: Path, pcm: np.ndarray, rate: int) -> Path:
    with wave.open(str(path), "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(rate)
        handle.writeframes(pcm.astype(np.int16).tobytes())
    return path


def mentions(transcript: str, *words: str) -> bool:
    """Whether every word occurs in transcript, ignoring case, spaces and punctuation.

    Whisper sometimes splits a compound ("photo synthesis"); that still heard the word.
    """
    letters = "".join(ch for ch in transcript.lower() if ch.isalnum())
    return all("".join(ch for ch in word.lower() if ch.isalnum()) in letters for word in words)
