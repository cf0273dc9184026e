"""Streaming ASR: interim transcripts, the early final pass, and the shared turn models.

Each case runs the real recognizer, Silero VAD and smart-turn on Piper speech at real time
(evals/harness/streaming_harness.py), as a session does.
"""

from __future__ import annotations

import numpy as np
import pytest
from pipecat.audio.vad.vad_analyzer import VADState

from agent.config import Settings
from evals.harness.speech_samples import mentions, speak
from evals.harness.streaming_harness import RATE, recognize
from speech.turns import SharedSmartTurnAnalyzer, silero_vad


def settings(**asr) -> Settings:
    config = Settings()
    for name, value in asr.items():
        setattr(config.asr, name, value)
    return config


@pytest.mark.slow  # real time
async def test_the_early_final_pass_is_the_transcript():
    pcm = speak("Why is the sky blue?", "piper-joe")
    heard = await recognize(pcm, settings(interim_interval_s=0.0), paced=True)
    assert mentions(heard.final, "sky", "blue"), heard.final
    assert heard.speculations_used == 1 and heard.speculations_voided == 0
    assert heard.final_after_vad_stop_ms is not None
    # Done before or after the VAD's stop, the pass's text goes ahead of the transcript as
    # provisional: the turn detector still decides after the stop, and the LLM reads ahead.
    assert heard.provisional == [heard.final], (heard.provisional, heard.final)
    assert heard.provisional_before_final


@pytest.mark.slow  # real time
async def test_an_early_pass_done_before_the_stop_is_sent_as_provisional():
    # With 0.8 s of quiet before the VAD's stop, the early pass is done while the turn is
    # still open: its text goes downstream first (for the LLM to read ahead), then the same
    # text as the transcript.
    config = settings(interim_interval_s=0.0)
    config.turn.vad_stop_secs = 0.8
    heard = await recognize(speak("What is gravity?", "piper-joe"), config, paced=True)
    assert heard.provisional == [heard.final], (heard.provisional, heard.final)
    assert mentions(heard.final, "gravity"), heard.final


@pytest.mark.slow  # real time
async def test_speech_after_a_pause_voids_the_early_pass():
    # A 0.35 s pause: long enough for the VAD to turn STOPPING (an early pass starts on
    # "What is"), shorter than stop_secs, so the turn goes on and that pass must be dropped.
    config = settings(interim_interval_s=0.0)
    config.turn.vad_stop_secs = 0.8
    pause = np.zeros(int(RATE * 0.35), np.int16)
    pcm = np.concatenate([speak("What is", "piper-joe"), pause, speak("gravity?", "piper-joe")])
    heard = await recognize(pcm, config, paced=True)
    assert heard.speculations_voided >= 1
    assert mentions(heard.final, "gravity"), heard.final
    # "What is" may go out as provisional while the pause lasts; the last one is the turn's.
    assert heard.provisional[-1:] == [heard.final], heard.provisional


@pytest.mark.slow  # real time
async def test_interim_transcripts_arrive_during_long_speech():
    text = "Why do birds migrate in winter, and how do they find their way back home?"
    heard = await recognize(speak(text, "piper-joe"), settings(interim_interval_s=1.0), paced=True)
    assert heard.interims, "no interim transcript during ~4 s of speech"
    assert mentions(heard.final, "birds", "winter", "home"), heard.final


@pytest.mark.slow  # real time
async def test_segmented_recognition_still_works():
    pcm = speak("What is gravity?", "piper-joe", speed=1.25)
    heard = await recognize(pcm, settings(streaming=False), paced=True)
    assert mentions(heard.final, "gravity"), heard.final
    assert heard.speculations_used == 0


async def test_vad_listeners_see_the_quiet_frame_before_the_stop():
    vad = silero_vad(stop_secs=0.3, start_secs=0.2, confidence=0.7)
    vad.set_sample_rate(RATE)
    changes: list[tuple[VADState, VADState]] = []
    vad.add_listener(lambda old, new: changes.append((old, new)))
    audio = np.concatenate([speak("What is gravity?", "piper-joe"), np.zeros(RATE, np.int16)])
    for start in range(0, len(audio) - 320, 320):
        await vad.analyze_audio(audio[start : start + 320].tobytes())
    states = [new for _, new in changes]
    assert VADState.SPEAKING in states and states[-1] == VADState.QUIET
    assert states[states.index(VADState.SPEAKING) + 1] == VADState.STOPPING


def test_turn_models_share_one_onnx_session_per_process():
    first, second = silero_vad(0.2, 0.2, 0.7), silero_vad(0.2, 0.2, 0.7)
    assert first._model.session is second._model.session
    assert first._model is not second._model  # each learner keeps its own recurrent state
    assert SharedSmartTurnAnalyzer()._session is SharedSmartTurnAnalyzer()._session
