"""Embedded llama.cpp backend: SmolLM2-135M on CPU by default, off the event loop.

One model instance serves every session; a lock serialises generation (llama.cpp contexts
are not thread-safe) and llama.cpp reuses the KV cache of the longest shared prompt prefix;
saved states of recent system messages (prompt plus notes, agent/backends/prefix_cache.py) make
that prefix the whole system message even when the previous turn's notes were different.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from contextlib import aclosing
from functools import partial
from itertools import takewhile
from typing import TYPE_CHECKING, ClassVar

import numpy as np
from loguru import logger

from agent.backends.base import BackendError, ChatMessage
from agent.backends.prefix_cache import (
    PREFIX_KEY_SEPARATOR,
    PrefixStateCache,
    held_prefix,
    hold_tokens,
    holds_prefix,
    messages_key,
    read_prefix,
    restore_prefix,
)
from agent.backends.requantize import RequantizeError, requantized
from agent.backends.thinking import THINK_CLOSE, THINK_OPEN, Piece, forced_close
from agent.backends.threaded import stream_from_thread
from speech.assets import smollm2_gguf

if TYPE_CHECKING:
    from agent.config import LLMSettings


def model_key(settings: LLMSettings) -> tuple:
    """What makes two embedded models the same: file, quantization, context, threads, GPU."""
    return (str(settings.model_path), settings.requantize, settings.context_tokens,
            settings.threads, settings.batch_threads, settings.gpu_layers)  # fmt: skip


def template_tokens(llama, text: str) -> np.ndarray:
    """Tokens of chat-template text, as llama-cpp-python's chat handler makes them (the
    template writes its own special tokens, so no BOS is added)."""
    return np.asarray(llama.tokenize(text.encode(), add_bos=False, special=True))


_prefix_caches: dict[tuple, PrefixStateCache] = {}
_prefix_caches_lock = threading.Lock()


def _shared_cache(settings: LLMSettings, kind: str, entries: int) -> PrefixStateCache | None:
    if entries <= 0:
        return None
    with _prefix_caches_lock:
        key = (*model_key(settings), kind)
        if key not in _prefix_caches:
            _prefix_caches[key] = PrefixStateCache(entries)
        return _prefix_caches[key]


def prefix_cache(settings: LLMSettings) -> PrefixStateCache | None:
    """The process's saved system-prompt states for this model (None when turned off)."""
    return _shared_cache(settings, "system", settings.prefix_cache_entries)


def conversation_cache(settings: LLMSettings) -> PrefixStateCache | None:
    """The process's conversations read ahead of their next turn (None when turned off)."""
    return _shared_cache(settings, "conversation", settings.conversation_states)


class LlamaCppBackend:
    """Streams chat completions from a local gguf through llama-cpp-python."""

    name = "embedded"
    supports_thinking = True
    _instances: ClassVar[dict[tuple, LlamaCppBackend]] = {}
    _instances_lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, settings: LLMSettings) -> None:
        self._settings = settings
        self._model_path = smollm2_gguf(settings.model_path)  # missing file: error now
        self._llama = None
        self._load_lock = threading.Lock()
        self._generate_lock = threading.Lock()
        self._formatter = None
        self._system_formatter = None
        self._prefixes = prefix_cache(settings)
        self._conversations = conversation_cache(settings)
        self.last_read = (0, 0)  # the last turn's prompt: tokens read, tokens in all

    @classmethod
    def shared(cls, settings: LLMSettings) -> LlamaCppBackend:
        """One instance per (model, context, threads, gpu) so weights load once per process."""
        key = model_key(settings)
        with cls._instances_lock:
            if key not in cls._instances:
                cls._instances[key] = cls(settings)
            return cls._instances[key]

    def _model(self):
        with self._load_lock:
            if self._llama is None:
                from llama_cpp import Llama

                path = self._loadable_path()
                logger.info("loading embedded LLM {}", path.name)
                try:
                    self._llama = Llama(
                        model_path=str(path),
                        n_ctx=self._settings.context_tokens,
                        n_threads=self._settings.threads,
                        n_threads_batch=self._settings.batch_threads or None,
                        n_gpu_layers=self._settings.gpu_layers,
                        verbose=False,
                    )
                except ValueError as exc:
                    raise BackendError(f"cannot load {self._model_path}: {exc}") from exc
            return self._llama

    def _loadable_path(self):
        """The converted gguf (llm.requantize), or the file as it is when the cache folder
        cannot be written: a slower model beats no model."""
        try:
            return requantized(
                self._model_path, self._settings.requantize, self._settings.model_cache_dir
            )
        except (OSError, RequantizeError) as exc:
            logger.warning("loading {} as it is: {}", self._model_path.name, exc)
            return self._model_path

    async def warm_up(self) -> None:
        """Load the weights and evaluate the system prompt once, so the first learner turn
        finds it in the KV cache (about 0.5 s saved on a 2-core CPU)."""
        primer: list[ChatMessage] = [
            {"role": "system", "content": self._settings.system_prompt},
            {"role": "user", "content": "Hello."},
        ]
        async for _ in self.stream(primer, max_tokens=1, temperature=0.0):
            pass

    def _chat_formatter(self, llama, add_generation_prompt: bool = True):
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        vocab = llama._model
        return Jinja2ChatFormatter(
            llama.metadata["tokenizer.chat_template"],
            eos_token=vocab.token_get_text(llama.token_eos()),
            bos_token=vocab.token_get_text(llama.token_bos()),
            add_generation_prompt=add_generation_prompt,
        )

    def _chat_prompt(self, llama, messages: list[ChatMessage]) -> tuple[str, list[str]]:
        """The model's own chat template applied to messages, and its stop strings."""
        if self._formatter is None:
            self._formatter = self._chat_formatter(llama)
        formatted = self._formatter(messages=messages)
        stops = formatted.stop if isinstance(formatted.stop, list) else [formatted.stop]
        return formatted.prompt, [s for s in stops if s]

    def _prime(self, llama, messages: list[ChatMessage]) -> None:
        """Start the context from the longest saved state of the leading system messages,
        and save the levels not seen before.

        Level one is the tutor prompt with its notes (shared by every turn on a topic);
        level two adds the turn's instructions (the planner's hint: a handful of fixed
        texts), so a topic asked again with the same hint reads only the question. Runs
        under the generate lock, right before a completion, which then reads only what
        follows (llama-cpp-python reuses the longest cached prefix).
        """
        if self._restore_conversation(llama, messages) or self._prefixes is None:
            return
        systems = list(takewhile(lambda m: m["role"] == "system", messages))
        keys = [PREFIX_KEY_SEPARATOR.join(m["content"] for m in systems[:n]) for n in
                range(1, len(systems) + 1)]  # fmt: skip
        found = 0
        for level in range(len(keys), 0, -1):
            state = self._prefixes.get(keys[level - 1])
            if state is not None:
                self._prefixes.hits += 1
                found = level
                if not holds_prefix(llama, state.tokens):
                    restore_prefix(llama, state)
                    logger.debug("LLM prompt prefix restored ({} tokens)", len(state.tokens))
                break
        for level in range(found + 1, len(keys) + 1):
            self._prefixes.misses += 1
            tokens = self._prefix_tokens(llama, systems[:level])
            if not holds_prefix(llama, tokens):
                self._prefixes.put(keys[level - 1], read_prefix(llama, tokens))
                logger.debug("LLM prompt state saved: level {}, {} tokens, {} states held",
                             level, len(tokens), len(self._prefixes))  # fmt: skip

    def _restore_conversation(self, llama, messages: list[ChatMessage]) -> bool:
        """Start from the longest conversation read ahead that this prompt begins with."""
        if self._conversations is None:
            return False
        systems = sum(1 for _ in takewhile(lambda m: m["role"] == "system", messages))
        for n in range(len(messages) - 1, systems, -1):
            state = self._conversations.get(messages_key(messages[:n]))
            if state is not None:
                self._conversations.hits += 1
                if not holds_prefix(llama, state.tokens):
                    restore_prefix(llama, state)
                    logger.debug("LLM conversation restored ({} tokens)", len(state.tokens))
                return True
        return False

    def _prefix_tokens(self, llama, messages: list[ChatMessage]) -> np.ndarray:
        """Tokens of messages as the chat template renders them at a prompt's start (no
        answer asked for)."""
        if self._system_formatter is None:
            self._system_formatter = self._chat_formatter(llama, add_generation_prompt=False)
        return template_tokens(llama, self._system_formatter(messages=messages).prompt)

    async def read_conversation(self, messages: list[ChatMessage]) -> int:
        """Read and save the start of a session's next prompt (SessionPrompts.upcoming), so
        the turn that begins with these messages reads only its instructions and question.
        Returns the tokens read: 0 if saved already or turned off, -1 if the context was
        busy (nothing done: a turn comes first)."""
        return await asyncio.to_thread(self._read_conversation, list(messages))

    def _read_conversation(self, messages: list[ChatMessage]) -> int:
        key = messages_key(messages)
        if self._conversations is None or not messages or self._conversations.get(key):
            return 0
        if not self._generate_lock.acquire(blocking=False):
            return -1
        try:
            llama = self._model()
            self._prime(llama, messages)
            tokens = self._prefix_tokens(llama, messages)
            read = len(tokens) - held_prefix(llama, tokens)
            self._conversations.put(key, read_prefix(llama, tokens))
            return read
        finally:
            self._generate_lock.release()

    def read_prompt(self, system_prompt: str | list[str]) -> bool:
        """Save the state of a system message (or of stacked ones: the prompt with notes,
        then a turn's instructions) before any turn sends it; False if already saved or the
        cache is off. Blocks this context for one read (~0.5 s here)."""
        stack = [system_prompt] if isinstance(system_prompt, str) else list(system_prompt)
        if self._prefixes is None or self._prefixes.get(PREFIX_KEY_SEPARATOR.join(stack)):
            return False
        with self._generate_lock:
            self._prime(self._model(), [{"role": "system", "content": text} for text in stack])
        return True

    def read_ahead(self, system_prompts: list[str | list[str]], stop: threading.Event) -> int:
        """read_prompt for each (run in a thread); returns how many were read."""
        return sum(self.read_prompt(p) for p in system_prompts if not stop.is_set())

    async def prefill(self, messages: list[ChatMessage]) -> int:
        """Read the prompt these messages make into the context, generating nothing; the
        turn that sends them next starts at its first token. Returns the tokens read (-1:
        the context was busy answering, and nothing was done)."""
        return await asyncio.to_thread(self._prefill, list(messages))

    def _prefill(self, messages: list[ChatMessage]) -> int:
        if not self._generate_lock.acquire(blocking=False):
            return -1
        try:
            llama = self._model()
            self._prime(llama, messages)
            prompt, _ = self._chat_prompt(llama, messages)
            tokens = template_tokens(llama, prompt)
            if llama.n_tokens == len(tokens) and holds_prefix(llama, tokens):
                return 0
            return hold_tokens(llama, tokens)
        finally:
            self._generate_lock.release()

    def _generate(self, messages, max_tokens, temperature, emit, stop: threading.Event) -> None:
        """Runs in a worker thread; hands each answer text piece to emit()."""
        with self._generate_lock:
            if stop.is_set():
                return
            llama = self._model()
            self._prime(llama, messages)
            self._note_read(llama, messages)
            stream = llama.create_chat_completion(
                messages=messages, max_tokens=max_tokens, temperature=temperature, stream=True
            )
            for chunk in stream:
                if stop.is_set():
                    break
                piece = chunk["choices"][0]["delta"].get("content")
                if piece:
                    emit(piece)

    def _note_read(self, llama, messages: list[ChatMessage]) -> None:
        """Records how much of the prompt the context lacks: what the turn reads before its
        first token (`last_read`: read, prompt tokens)."""
        tokens = template_tokens(llama, self._chat_prompt(llama, messages)[0])
        self.last_read = (len(tokens) - held_prefix(llama, tokens), len(tokens))
        logger.debug("LLM reads {} of {} prompt tokens", *self.last_read)

    def _generate_thinking(
        self, messages, max_tokens, temperature, think_tokens, emit, stop: threading.Event
    ) -> None:
        """A thought of at most think_tokens, closed by force, then the answer (as Pieces)."""
        with self._generate_lock:
            if stop.is_set():
                return
            llama = self._model()
            self._prime(llama, messages)
            prompt, stops = self._chat_prompt(llama, messages)
            thought = ""
            for chunk in llama.create_completion(
                prompt + THINK_OPEN + "\n", max_tokens=think_tokens, temperature=temperature,
                stop=[THINK_CLOSE, *stops], stream=True,
            ):  # fmt: skip
                if stop.is_set():
                    return
                if piece := chunk["choices"][0]["text"]:
                    thought += piece
                    emit(Piece(piece, thinking=True))
            for chunk in llama.create_completion(
                prompt + forced_close(thought), max_tokens=max_tokens, temperature=temperature,
                stop=stops, stream=True,
            ):  # fmt: skip
                if stop.is_set():
                    return
                if piece := chunk["choices"][0]["text"]:
                    emit(Piece(piece))

    def _run_in_thread(self, job) -> AsyncIterator:
        # A short window: when the session pauses the answer for its first audio, the
        # model stops within a few tokens instead of racing Piper for the CPU.
        return stream_from_thread(job, "llama-generate", "embedded LLM", window=2)

    async def stream(
        self, messages: list[ChatMessage], *, max_tokens: int, temperature: float
    ) -> AsyncIterator[str]:
        job = partial(self._generate, list(messages), max_tokens, temperature)
        async with aclosing(self._run_in_thread(job)) as pieces:
            async for piece in pieces:
                yield piece

    async def stream_turn(
        self, messages: list[ChatMessage], *, max_tokens: int, temperature: float,
        think_tokens: int = 0,
    ) -> AsyncIterator[Piece]:  # fmt: skip
        """Answer pieces, preceded by a budget-forced thought when think_tokens > 0."""
        if think_tokens <= 0:
            async with aclosing(self.stream(messages, max_tokens=max_tokens,
                                            temperature=temperature)) as answer:  # fmt: skip
                async for text in answer:
                    yield Piece(text)
            return
        job = partial(
            self._generate_thinking, list(messages), max_tokens, temperature, think_tokens
        )
        async with aclosing(self._run_in_thread(job)) as pieces:
            async for piece in pieces:
                yield piece

    async def close(self) -> None:
        """The shared model stays loaded for the next session."""
