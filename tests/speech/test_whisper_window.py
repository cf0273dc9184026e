"""Whisper on a shortened encoder window: same words, bounded output, full-window fallback."""

from __future__ import annotations

import numpy as np
import pytest

from evals.harness.speech_samples import mentions
from speech import whisper_window
from speech.asr import shared_whisper_model, transcribe
from speech.assets import whisper_model_dir
from speech.whisper_window import looks_looped, transcribe_windowed, window_seconds


@pytest.fixture(scope="module")
def model():
    return shared_whisper_model(whisper_model_dir(), "cpu", "int8")


def test_window_follows_the_speech_and_gives_way_to_the_full_window():
    assert window_seconds(2.3, 10.0) == 10.0
    assert window_seconds(12.2, 10.0) == 14.0  # a second of silence after the speech
    assert window_seconds(29.5, 10.0) is None  # no room: the caller uses the full window


def test_a_repeated_run_of_words_is_a_loop():
    assert looks_looped("What is gravity? What is gravity")
    assert not looks_looped("What is gravity and why does it pull?")
    assert not looks_looped("")


def test_short_window_hears_the_question(model, question_pcm_16k):
    audio = question_pcm_16k.astype(np.float32) / 32768.0
    result = transcribe_windowed(model, audio, beam_size=5, min_window_s=10.0)
    assert result is not None
    text, no_speech = result
    assert mentions(text, "photosynthesis"), text
    assert not looks_looped(text)
    assert no_speech < 0.5


def test_silence_is_dropped_on_the_short_window(model):
    assert transcribe(model, np.zeros(16000, np.int16), 5, 0.6, window_s=10.0) == ""


def test_a_looping_result_falls_back_to_the_full_window(model, question_pcm_16k, monkeypatch):
    # A window cut right after the speech is where Whisper loops; with the guard forced to
    # see a loop, transcribe must still return the full window's answer.
    monkeypatch.setattr(whisper_window, "looks_looped", lambda _text: True)
    calls = []
    original = model.transcribe

    def counting(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(model, "transcribe", counting)
    text = transcribe(model, question_pcm_16k, 5, 0.6, window_s=10.0)
    assert calls, "the full-window pass never ran"
    assert mentions(text, "photosynthesis"), text


def test_a_tight_token_budget_falls_back(model, question_pcm_16k, monkeypatch):
    monkeypatch.setattr(whisper_window, "token_budget", lambda _seconds: 2)
    audio = question_pcm_16k.astype(np.float32) / 32768.0
    assert transcribe_windowed(model, audio, beam_size=1, min_window_s=10.0) is None
