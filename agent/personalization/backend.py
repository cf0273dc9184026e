"""Learners with a personal delta are answered by SmolLM2 in torch, their delta swapped in.

One base model per process (SharedPersonalModel); every turn runs under the model's lock as
`run_as(learner, ...)`: if another learner's delta is active it is swapped for this one's
first (tens of milliseconds, agent/personalization/personalize.py), so sessions of different
learners share one model without ever seeing each other's weights.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import AsyncIterator, Callable
from contextlib import aclosing
from pathlib import Path
from typing import Any, ClassVar

import torch

from agent.backends.base import ChatMessage
from agent.backends.threaded import stream_from_thread
from agent.personalization.personalize import PersonalizedModel, linear_names
from agent.personalization.smollm import PROMPT, load_smollm2, personal_layer
from agent.personalization.store import DeltaStore


class PersonalizationError(RuntimeError):
    """Personalization is misconfigured (e.g. the encryption key's variable is unset)."""


def store_key(key_env: str | None) -> bytes | None:
    """The Fernet key from the named environment variable (None: deltas are not encrypted)."""
    if not key_env:
        return None
    value = os.environ.get(key_env)
    if not value:
        raise PersonalizationError(
            f"personalization.key_env names ${key_env}, which is not set; export the key "
            "(make one with: python -c 'from cryptography.fernet import Fernet; "
            "print(Fernet.generate_key().decode())')"
        )
    return value.encode()


class SharedPersonalModel:
    """The process's personal model, its tokenizer and the delta store."""

    _instances: ClassVar[dict[Path, SharedPersonalModel]] = {}
    _instances_lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, store: DeltaStore, model_path: Path | None = None) -> None:
        model, self.tokenizer = load_smollm2(model_path)
        self.personal = PersonalizedModel(model, linear_names(model, personal_layer))
        self.store = store
        self.swaps = 0
        self._load_ms = 0.0
        self.on_swap: Callable[[float], None] | None = None

    @classmethod
    def shared(cls, store_dir: Path, key_env: str | None = None) -> SharedPersonalModel:
        with cls._instances_lock:
            root = Path(store_dir).resolve()
            if root not in cls._instances:
                cls._instances[root] = cls(DeltaStore(root, key=store_key(key_env)))
            return cls._instances[root]

    def has(self, learner: str | None) -> bool:
        return learner is not None and learner in self.store.users()

    def _deltas(self, learner: str | None):
        """Fetches the learner's deltas for a swap (None: the base model)."""
        started = time.perf_counter()
        deltas = self.store.load(learner) if learner else None
        self._load_ms = (time.perf_counter() - started) * 1000.0
        self.swaps += 1
        return deltas

    def generate(
        self, learner: str | None, prompt: str, max_tokens: int, temperature: float,
        emit: Callable[[Any], None], stop: threading.Event,
    ) -> None:  # fmt: skip
        """Token by token with a KV cache, as `learner`; emits text pieces."""
        ids = self.tokenizer(prompt, return_tensors="pt")["input_ids"]

        @torch.no_grad()
        def work(model: torch.nn.Module) -> torch.Tensor:
            past, tokens, said, step_ids = None, [], "", ids
            for _ in range(max_tokens):
                if stop.is_set():
                    break
                out = model(input_ids=step_ids, past_key_values=past, use_cache=True)
                past, logits = out.past_key_values, out.logits[0, -1]
                if temperature > 0:
                    token = int(torch.multinomial(torch.softmax(logits / temperature, -1), 1))
                else:
                    token = int(torch.argmax(logits))
                if token == self.tokenizer.eos_token_id:
                    break
                tokens.append(token)
                text = self.tokenizer.decode(tokens, skip_special_tokens=True)
                if "\n" in text:  # the taught answers are one line; the next is the learner's
                    emit(text.split("\n", 1)[0][len(said) :])
                    break
                if not text.endswith("\ufffd"):  # wait for a whole multi-byte character
                    emit(text[len(said) :])
                    said = text
                step_ids = torch.tensor([[token]])
            return torch.empty(0)

        swaps = self.swaps
        self.personal.run_as(learner, lambda: self._deltas(learner), work)
        if self.swaps != swaps and self.on_swap is not None:  # read and swapped in
            self.on_swap(self._load_ms + self.personal.last_swap_ms)


def learner_prompt(messages: list[ChatMessage]) -> str:
    """The format the deltas were taught in: the learner's last question, then 'Tutor:'."""
    question = next((m["content"] for m in reversed(messages) if m["role"] == "user"), "")
    return PROMPT.format(q=question.strip())


class PersonalizedBackend:
    """A ChatBackend for one learner's session."""

    name = "personalized"

    def __init__(self, shared: SharedPersonalModel, learner: str) -> None:
        self._shared = shared
        self.learner = learner

    async def warm_up(self) -> None:
        """The shared model loads when the first personal session starts."""

    async def stream(
        self, messages: list[ChatMessage], *, max_tokens: int, temperature: float
    ) -> AsyncIterator[str]:
        prompt = learner_prompt(messages)

        def job(emit, stop) -> None:
            self._shared.generate(self.learner, prompt, max_tokens, temperature, emit, stop)

        stream = stream_from_thread(job, "personal-generate", "personalized LLM")
        async with aclosing(stream) as pieces:  # closing us stops the generating thread
            async for piece in pieces:
                if piece:
                    yield piece

    async def close(self) -> None:
        """The shared model stays for the next session."""
