"""The VAD's early voice signal (speech/turns.py): a barge-in pause need not wait for
Pipecat's smoothed 400 ms volume to let the voice through."""

from __future__ import annotations

import numpy as np
from pipecat.audio.vad.vad_analyzer import VADState

from evals.harness.speech_samples import speak
from speech.turns import VOICE_FLOOR_DBFS, silero_vad, window_dbfs

RATE = 16000
WINDOW = 320  # 20 ms, as the transport delivers it


async def heard(audio: np.ndarray) -> tuple[list[float], dict[VADState, float]]:
    """When (seconds into `audio`) voice was reported, and when each VAD state first came."""
    vad = silero_vad(stop_secs=0.2, start_secs=0.2, confidence=0.7)
    vad.set_sample_rate(RATE)
    now = [0.0]
    voices: list[float] = []
    states: dict[VADState, float] = {}
    vad.add_voice_listener(lambda: voices.append(now[0]))
    vad.add_listener(lambda _old, new: states.setdefault(new, now[0]))
    for start in range(0, len(audio) - WINDOW, WINDOW):
        now[0] = (start + WINDOW) / RATE
        await vad.analyze_audio(audio[start : start + WINDOW].tobytes())
    return voices, states


def onset_s(audio: np.ndarray) -> float:
    loud = np.flatnonzero(np.abs(audio.astype(np.int32)) > 1000)
    return loud[0] / RATE


async def test_voice_is_reported_before_the_vads_volume_gate_lets_it_through():
    lead = np.zeros(RATE // 2, np.int16)
    audio = np.concatenate([lead, speak("Hold on, why is that?", "piper-joe"), lead])
    voices, states = await heard(audio)
    onset = onset_s(audio)
    assert voices, "no voice reported"
    assert voices[0] - onset < 0.1, voices[0] - onset
    assert states[VADState.STARTING] - voices[0] >= 0.06  # the gate's smoothing, skipped


async def test_faint_speech_silence_and_noise_report_no_voice():
    speech = speak("Wait, what about the Moon?", "piper-joe")
    faint = (speech * 0.002).astype(np.int16)  # far below the floor (about -70 dBFS)
    noise = np.random.default_rng(0).normal(scale=300, size=RATE).astype(np.int16)
    for audio in (faint, np.zeros(RATE, np.int16), noise):
        voices, _ = await heard(audio)
        assert voices == []


def test_window_level():
    full = np.full(WINDOW, 32767, np.int16).tobytes()
    assert abs(window_dbfs(full)) < 0.01
    assert window_dbfs(np.zeros(WINDOW, np.int16).tobytes()) == float("-inf")
    assert window_dbfs((np.ones(WINDOW) * 100).astype(np.int16).tobytes()) < VOICE_FLOOR_DBFS
