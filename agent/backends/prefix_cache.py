"""Saved llama.cpp KV states of system prompts, so a turn starts from its notes already read.

Each answer's system message is the tutor prompt plus the knowledge-base notes retrieved for
the question; on one CPU thread SmolLM2 takes ~1 s to read ~140 such tokens, which is most
of its time to first token. The knowledge base is small and learners come back to the same
topics, so the same system messages recur: their KV state (~3 MB for 140 tokens) is kept
here after the first time and copied back into a context in a few milliseconds. llama.cpp
then reads only what follows (the conversation and the question).

States are keyed by the leading system messages' text (joined by PREFIX_KEY_SEPARATOR),
shared by every context over the same model (a pool's contexts have the same size), and
bounded (least recently used goes first). A second, smaller cache holds whole conversations
read ahead of a session's next turn (`messages_key`), once the tutor has answered.
"""

from __future__ import annotations

import ctypes
import threading
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

PREFIX_KEY_SEPARATOR = "\x1e"  # between the texts of stacked system messages in a key


@dataclass(frozen=True)
class PrefixState:
    """The tokens of a rendered system message and the context state after reading them.

    The state stays in the ctypes buffer llama.cpp reads it from, so a restore copies
    nothing on the Python side (~3 MB a turn otherwise; it did not change resident memory
    over 120 restores in a micro-benchmark, it is just work not needed).
    """

    tokens: np.ndarray
    data: ctypes.Array

    @property
    def size(self) -> int:
        return len(self.data)


def messages_key(messages: list) -> str:
    """The key of a conversation's state: every message's role and text, in order."""
    return PREFIX_KEY_SEPARATOR.join(f"{m['role']}\x1f{m['content']}" for m in messages)


class PrefixStateCache:
    def __init__(self, entries: int) -> None:
        self.entries = entries
        self._states: OrderedDict[str, PrefixState] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._states)

    def get(self, key: str) -> PrefixState | None:
        with self._lock:
            state = self._states.get(key)
            if state is not None:
                self._states.move_to_end(key)
            return state

    def put(self, key: str, state: PrefixState) -> None:
        with self._lock:
            self._states[key] = state
            self._states.move_to_end(key)
            while len(self._states) > self.entries:
                self._states.popitem(last=False)


def holds_prefix(llama, tokens: np.ndarray) -> bool:
    """Whether the context's KV cache already starts with these tokens."""
    n = len(tokens)
    return llama.n_tokens >= n and bool(np.array_equal(llama.input_ids[:n], tokens))


def held_prefix(llama, tokens: np.ndarray) -> int:
    """How many leading tokens the context holds already (all but the last at most: that
    one is always read, so the logits are fresh)."""
    held = llama.input_ids[: min(llama.n_tokens, len(tokens) - 1)]
    differs = np.flatnonzero(held != tokens[: len(held)])
    return int(differs[0]) if len(differs) else len(held)


def hold_tokens(llama, tokens: np.ndarray) -> int:
    """Leave exactly these tokens in the context; returns how many had to be read.

    What the context already holds of them (the tutor prompt, say) is kept, not read again;
    at least the last token is read, so the logits are fresh.
    """
    llama.n_tokens = held_prefix(llama, tokens)
    rest = tokens[llama.n_tokens :]
    llama.eval(rest.tolist())  # eval drops KV cells past n_tokens first
    return len(rest)


def read_prefix(llama, tokens: np.ndarray) -> PrefixState:
    """Leave exactly these tokens in the context and save its state."""
    from llama_cpp import llama_cpp

    hold_tokens(llama, tokens)
    size = llama_cpp.llama_state_get_size(llama._ctx.ctx)
    buffer = (ctypes.c_uint8 * size)()
    written = llama_cpp.llama_state_get_data(llama._ctx.ctx, buffer, size)
    data = (ctypes.c_uint8 * written)()
    ctypes.memmove(data, buffer, written)
    return PrefixState(tokens=tokens.copy(), data=data)


def restore_prefix(llama, state: PrefixState) -> None:
    """Put a saved prefix back into a context (what Llama.load_state does, without copying
    and clearing its logits table, which costs more than the copy itself)."""
    from llama_cpp import llama_cpp

    if llama_cpp.llama_state_set_data(llama._ctx.ctx, state.data, state.size) != state.size:
        raise RuntimeError("llama.cpp refused a saved prompt state")
    n = len(state.tokens)
    llama.input_ids[:n] = state.tokens
    llama.n_tokens = n
    llama._requires_eval = True  # logits come from the next decode, as after load_state
