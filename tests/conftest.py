"""Shared fixtures: the real packaged models, loaded once per test session."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")


@pytest.fixture(scope="session")
def postgres_url():
    """A real PostgreSQL server (Debian's, started for this test session), as a URL."""
    from evals.harness.postgres import local_postgres

    with local_postgres() as url:
        yield url


@pytest.fixture(scope="session")
def piper_voice():
    from speech.assets import piper_voice_file
    from speech.tts import shared_piper_voice

    return shared_piper_voice(piper_voice_file())


@pytest.fixture(scope="session")
def question_pcm_16k():
    """'What is photosynthesis?' spoken by Piper, at 16 kHz for whisper."""
    from evals.harness.speech_samples import synthesize

    return synthesize("What is photosynthesis?", rate=16000)


@pytest.fixture(scope="session")
def real_offer_sdp() -> str:
    """A real aiortc offer (audio and a data channel), as a browser would send it."""
    import asyncio

    from evals.probe_replay import real_offer

    return asyncio.run(real_offer())


@pytest.fixture(scope="session")
def curriculum():
    from agent.tutoring.curriculum import load_curriculum

    return load_curriculum()


@pytest.fixture(scope="session")
def host_compute():
    """The host's turn compute (index, controller, tiers) on the default settings, built once
    (~5-10 s) for the tests that ask a TextTutor; each test's TextTutor keeps its own
    conversations, so no learner state passes between them."""
    from agent.config import load_settings
    from agent.turn.assembly import HostCompute

    return HostCompute(load_settings(), lambda: 1)


@pytest.fixture(scope="session")
def turn(curriculum):
    """The curriculum's turn logic on the real MiniLM embeddings (shared: ~5 s to build)."""
    from agent.retrieval.index import HybridIndex, embed
    from agent.tutoring.facets import SentencePicker
    from agent.tutoring.matching import ConceptMatcher, concept_passages
    from agent.tutoring.turn import TeachingTurn

    index = HybridIndex(concept_passages(curriculum))
    return TeachingTurn(curriculum, ConceptMatcher(curriculum, index), SentencePicker(embed))
