"""Real ASR and TTS from the packaged models."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from pipecat.frames.frames import TTSAudioRawFrame, TTSSpeakFrame, TTSStartedFrame
from pipecat.tests.utils import run_test

from evals.harness.speech_samples import mentions
from speech.asr import shared_whisper_model
from speech.assets import ModelFileMissing, piper_voice_file, whisper_model_dir
from speech.frames import PhonemeAlignmentFrame
from speech.tts import AlignedPiperTTSService


def test_whisper_transcribes_piper_speech(question_pcm_16k):
    model = shared_whisper_model(whisper_model_dir(), "cpu", "int8")
    segments, _ = model.transcribe(question_pcm_16k.astype(np.float32) / 32768.0, language="en")
    text = " ".join(segment.text for segment in segments)
    assert mentions(text, "photosynthesis"), text


def test_piper_alignments_cover_every_sample(piper_voice):
    chunks = list(piper_voice.synthesize("Hello there, learner.", include_alignments=True))
    assert chunks
    for chunk in chunks:
        assert chunk.phoneme_alignments, "alignments missing: onnx patching failed"
        total = sum(a.num_samples for a in chunk.phoneme_alignments)
        assert total == len(chunk.audio_int16_array)


def test_missing_voice_is_a_clear_error(tmp_path):
    with pytest.raises(ModelFileMissing, match="ECO1_TTS__VOICE_PATH"):
        piper_voice_file(tmp_path / "nobody.onnx")
    with pytest.raises(ModelFileMissing, match="ECO1_ASR__MODEL_PATH"):
        whisper_model_dir(tmp_path)


async def test_tts_service_emits_audio_and_alignments():
    tts = AlignedPiperTTSService()
    down, _ = await run_test(
        tts,
        frames_to_send=[TTSSpeakFrame("Gravity pulls things together.")],
        expected_down_frames=None,
    )
    audio = b"".join(f.audio for f in down if isinstance(f, TTSAudioRawFrame))
    alignments = [f for f in down if isinstance(f, PhonemeAlignmentFrame)]
    assert any(isinstance(f, TTSStartedFrame) for f in down)
    pcm = np.frombuffer(audio, dtype=np.int16)
    assert len(pcm) > 0.5 * 16000 and np.abs(pcm).max() > 1000
    assert alignments and all(a.total_samples > 0 for a in alignments)
    assert alignments[0].text == "Gravity pulls things together."


def test_word_errors_counts_edits():
    from evals.asr import word_errors

    assert word_errors("How do bees make honey?", "how do bees make honey") == (0, 5)
    assert word_errors("How does a rainbow form?", "How does the rain perform?") == (3, 5)
    assert word_errors("What is gravity?", "") == (3, 3)


async def test_asr_service_transcribes_segments(question_pcm_16k):
    from pipecat.frames.frames import TranscriptionFrame

    from speech.asr import SharedWhisperSTTService

    service = SharedWhisperSTTService()
    frames = [f async for f in service.run_stt(question_pcm_16k.tobytes())]
    texts = [f.text for f in frames if isinstance(f, TranscriptionFrame)]
    assert len(texts) == 1 and mentions(texts[0], "photosynthesis")


async def test_a_failing_clause_is_replaced_by_the_fallback_line():
    from speech.frames import FallbackFrame

    tts = AlignedPiperTTSService(fault=lambda kind: kind == "tts_error")
    down, _ = await run_test(tts, frames_to_send=[TTSSpeakFrame("Gravity pulls things.")])
    fallback = [f for f in down if isinstance(f, FallbackFrame)]
    assert len(fallback) == 1 and fallback[0].stage == "tts" and "injected" in fallback[0].reason
    pcm = np.frombuffer(
        b"".join(f.audio for f in down if isinstance(f, TTSAudioRawFrame)), np.int16
    )
    assert len(pcm) > 0.3 * 16000 and np.abs(pcm).max() > 1000  # the stand-in line is heard
    assert not any(isinstance(f, PhonemeAlignmentFrame) for f in down)


def test_whisper_threads_default_to_half_the_cores_up_to_four(monkeypatch):
    """CTranslate2's own default, 4 threads, made a call twice as slow on 2 cores."""
    import speech.asr as asr

    monkeypatch.setattr(asr.os, "cpu_count", lambda: 2)
    assert asr.whisper_threads() == 1 and asr.whisper_threads(3) == 3
    monkeypatch.setattr(asr.os, "cpu_count", lambda: 1)
    assert asr.whisper_threads() == 1
    monkeypatch.setattr(asr.os, "cpu_count", lambda: 16)
    assert asr.whisper_threads() == 4
    made = []
    monkeypatch.setattr(asr, "WhisperModel", lambda *a, **k: made.append(k) or object())
    monkeypatch.setattr(asr, "_models", {})
    asr.shared_whisper_model(Path("m"), "cpu", "int8", workers=2, cpu_threads=0)
    asr.shared_whisper_model(Path("m"), "cpu", "int8", workers=2, cpu_threads=4)  # same model
    asr.shared_whisper_model(Path("m"), "cpu", "int8", workers=2, cpu_threads=1)
    assert [k["cpu_threads"] for k in made] == [4, 1]
