"""How well an answer sticks to the passages it was given: a quality signal without a reference.

The cosine similarity (MiniLM) between the answer and its closest passage. The critique loop
keeps a revision only when it is no less grounded than the draft, and the controller learns
from it online which decisions give better answers.
"""

from __future__ import annotations

import numpy as np

from agent.retrieval.index import embed


def grounding(answer: str, passages: list[str]) -> float | None:
    """Similarity in [0, 1] of the answer to its nearest passage; None without passages."""
    if not passages or not answer.strip():
        return None if not passages else 0.0
    vectors = embed([answer, *passages])
    return float(np.clip(vectors[1:] @ vectors[0], 0.0, 1.0).max())


def grounding_or_none(passages: list[str], answer: str) -> float | None:
    """grounding() with the passages first, for functools.partial."""
    return grounding(answer, passages)
