"""Shared fixtures: the real packaged models, loaded once per test session."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")


@pytest.fixture(scope="session")
def piper_voice():
    from speech.assets import piper_voice_file
    from speech.tts import shared_piper_voice

    return shared_piper_voice(piper_voice_file())


@pytest.fixture(scope="session")
def question_pcm_16k():
    """'What is photosynthesis?' spoken by Piper, at 16 kHz for whisper."""
    from evals.speech_samples import synthesize

    return synthesize("What is photosynthesis?", rate=16000)


@pytest.fixture(scope="session")
def real_offer_sdp() -> str:
    """A real aiortc offer (audio and a data channel), as a browser would send it."""
    import asyncio

    from evals.probe_replay import real_offer

    return asyncio.run(real_offer())
