"""BitDelta in the running service: learners' deltas hot-swapped in one shared SmolLM2."""

from __future__ import annotations

import asyncio

import pytest
import torch

from agent.backends.factory import create_backend
from agent.cli import main
from agent.config import load_settings
from agent.edge.startup import session_backend
from agent.personalization.backend import (
    PersonalizationError,
    PersonalizedBackend,
    SharedPersonalModel,
    learner_prompt,
    store_key,
)
from agent.personalization.bitdelta import compress
from agent.personalization.store import DeltaStore
from agent.session.metrics import ServiceMetrics

pytestmark = pytest.mark.slow  # real SmolLM2 personalisation and live sessions

QUESTION = [{"role": "system", "content": "tutor"}, {"role": "user", "content": "What is heat?"}]


@pytest.fixture(scope="module")
def shared(tmp_path_factory):
    store = DeltaStore(tmp_path_factory.mktemp("deltas"))
    model = SharedPersonalModel(store)
    generator = torch.Generator().manual_seed(0)
    for learner, scale in (("ana", 0.02), ("ben", -0.02)):
        deltas = {}
        for name, layer in model.personal.layers.items():
            weight = layer.base.weight.detach()
            noise = torch.randn(weight.shape, generator=generator) * abs(scale) + scale
            deltas[name] = compress(weight, weight + noise)
        store.save(learner, deltas)
    return model


async def answer(backend: PersonalizedBackend) -> str:
    pieces = [p async for p in backend.stream(QUESTION, max_tokens=12, temperature=0.0)]
    return "".join(pieces)


async def test_sessions_of_two_learners_swap_and_never_mix(shared):
    ana, ben = PersonalizedBackend(shared, "ana"), PersonalizedBackend(shared, "ben")
    swaps_seen: list[float] = []
    shared.on_swap = swaps_seen.append
    alone = {"ana": await answer(ana), "ben": await answer(ben)}
    assert alone["ana"] != alone["ben"]  # each learner's delta changes what the model says
    together = await asyncio.gather(*[answer(b) for b in (ana, ben, ana, ben, ana)])
    assert together == [alone[n] for n in ("ana", "ben", "ana", "ben", "ana")]
    # the lock is not FIFO, so count swaps on turns that take it in a known order
    swaps, seen = shared.swaps, len(swaps_seen)
    for backend in (ana, ben, ana):
        await answer(backend)
    assert shared.swaps - swaps >= 2 and len(swaps_seen) - seen == shared.swaps - swaps
    assert all(ms > 0 for ms in swaps_seen)


async def test_cancelling_a_personal_answer_frees_the_model(shared):
    backend = PersonalizedBackend(shared, "ana")
    stream = backend.stream(QUESTION, max_tokens=200, temperature=0.0)
    await anext(stream)
    await stream.aclose()  # a barge-in: the thread stops at its next token and the lock frees
    assert len(await asyncio.wait_for(answer(PersonalizedBackend(shared, "ben")), 60)) > 0


def test_the_prompt_is_the_taught_format():
    assert learner_prompt(QUESTION) == "Learner: What is heat?\nTutor:"


def test_only_learners_with_a_delta_get_the_personal_model(shared, monkeypatch):
    settings = load_settings(overrides={"personalization": {"enabled": True}})
    monkeypatch.setattr(SharedPersonalModel, "shared", classmethod(lambda cls, *a: shared))
    metrics = ServiceMetrics()
    assert isinstance(session_backend(settings, metrics, "ana"), PersonalizedBackend)
    assert session_backend(settings, metrics, "nobody").name == "embedded"
    assert session_backend(settings, metrics, None).name == "embedded"
    off = load_settings()
    assert session_backend(off, metrics, "ana").name == create_backend(off.llm).name


def test_encryption_key_must_be_in_the_named_variable(monkeypatch):
    monkeypatch.delenv("ECO1_TEST_DELTA_KEY", raising=False)
    with pytest.raises(PersonalizationError, match="ECO1_TEST_DELTA_KEY"):
        store_key("ECO1_TEST_DELTA_KEY")
    assert store_key(None) is None


def test_eco1_personalize_stores_a_learner(tmp_path, capsys, monkeypatch):
    store_dir = tmp_path / "deltas"
    monkeypatch.setenv("ECO1_PERSONALIZATION__STORE_DIR", str(store_dir))
    assert main(["personalize", "cleo", "--steps", "2", "--distill-steps", "2"]) == 0
    assert "stored" in capsys.readouterr().out
    assert DeltaStore(store_dir).users() == ["cleo"]
    assert main(["personalize", "bad/id", "--steps", "1", "--distill-steps", "0"]) == 2
