"""Piper voices loaded with the service's ONNX Runtime threading."""

from __future__ import annotations

import numpy as np
from piper import SynthesisConfig

from agent.config import Settings
from speech.assets import piper_voice_file
from speech.piper_voice import ORT_DEFAULT, PiperThreads, load_piper_voice
from speech.tts import shared_piper_voice

TEXT = "Gravity is a force"
STILL = SynthesisConfig(noise_scale=0.0, noise_w_scale=0.0)  # the same speech every time


def spin_entry(threads: PiperThreads) -> str:
    return threads.session_options().get_session_config_entry("session.intra_op.allow_spinning")


def test_threading_reaches_the_session_options():
    assert spin_entry(PiperThreads(spin=False)) == "0"
    assert spin_entry(ORT_DEFAULT) == "1"
    assert PiperThreads(threads=1).session_options().intra_op_num_threads == 1
    assert ORT_DEFAULT.session_options().intra_op_num_threads == 0  # ONNX Runtime decides


def test_settings_choose_the_threading():
    settings = Settings(tts={"cpu_threads": 1, "spin_wait": False})
    assert settings.tts.piper_threads() == PiperThreads(threads=1, spin=False)


def test_a_voice_without_spinning_says_the_same_with_alignments(piper_voice):
    quiet = load_piper_voice(piper_voice_file(), threads=PiperThreads(threads=1, spin=False))
    assert quiet is not piper_voice
    ours = list(quiet.synthesize(TEXT, syn_config=STILL, include_alignments=True))
    theirs = list(piper_voice.synthesize(TEXT, syn_config=STILL, include_alignments=True))
    assert ours and all(chunk.phoneme_alignments for chunk in ours)
    for mine, reference in zip(ours, theirs, strict=True):
        assert sum(a.num_samples for a in mine.phoneme_alignments) == len(mine.audio_int16_array)
        # Threading changes the order of float sums, not the speech: lengths match and the
        # samples are within a few steps of each other.
        assert len(mine.audio_int16_array) == len(reference.audio_int16_array)
        difference = np.abs(mine.audio_int16_array.astype(int) - reference.audio_int16_array)
        assert np.percentile(difference, 99) < 64


def test_voices_are_shared_per_threading():
    file = piper_voice_file()
    spinning = shared_piper_voice(file)
    assert shared_piper_voice(file) is spinning
    assert shared_piper_voice(file, threads=PiperThreads(spin=False)) is not spinning
