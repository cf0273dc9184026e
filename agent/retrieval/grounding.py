"""How well an answer sticks to the passages it was given: a quality signal without a reference.

The cosine similarity (MiniLM) between the answer and its closest passage. The critique loop
keeps a revision only when it is no less grounded than the draft, and the controller learns
from it online which decisions give better answers.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

import numpy as np

from agent.retrieval import index

PASSAGE_CACHE_SIZE = 512  # the shipped knowledge base has 34 passages

_passage_vectors: OrderedDict[str, np.ndarray] = OrderedDict()
_cache_lock = threading.Lock()


def passage_vectors(passages: list[str]) -> np.ndarray:
    """MiniLM vectors of passages, each embedded once per process (the same knowledge-base
    passages come back turn after turn, and twice per critique round)."""
    with _cache_lock:
        missing = list(dict.fromkeys(p for p in passages if p not in _passage_vectors))
    fresh = index.embed(missing) if missing else []
    with _cache_lock:
        for text, vector in zip(missing, fresh, strict=True):
            _passage_vectors[text] = vector
        for text in passages:
            _passage_vectors.move_to_end(text)
        while len(_passage_vectors) > PASSAGE_CACHE_SIZE:
            _passage_vectors.popitem(last=False)
        return np.stack([_passage_vectors[text] for text in passages])


def grounding(answer: str, passages: list[str]) -> float | None:
    """Similarity in [0, 1] of the answer to its nearest passage; None without passages."""
    if not passages or not answer.strip():
        return None if not passages else 0.0
    answer_vector = index.embed([answer])[0]
    return float(np.clip(passage_vectors(passages) @ answer_vector, 0.0, 1.0).max())


def grounding_or_none(passages: list[str], answer: str) -> float | None:
    """grounding() with the passages first, for functools.partial."""
    return grounding(answer, passages)
