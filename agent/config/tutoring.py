"""What the tutor knows and sees: curriculum, notes, perception, personal models."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from agent.config.section import Section


class PerceptionSettings(Section):
    """z-JEPA perception of the learner's camera and microphone."""

    enabled: bool = Field(default=True, description="encode camera/mic into latents")
    checkpoint: Path | None = Field(
        default=None, description="z-JEPA export (default: the tiny checkpoint in the package)"
    )
    fps: float = Field(default=8.0, gt=0, le=30, description="camera frames sampled per second")


class TutoringSettings(Section):
    """The curriculum and grounded answers (docs/tutoring.md)."""

    grounded: bool = Field(
        default=True,
        description="answer from the curriculum's facets (and exact arithmetic) when a "
        "question is covered; false sends every turn to the LLM, as before the curriculum",
    )
    curriculum_dir: Path | None = Field(
        default=None, description="folder of curriculum *.toml files (default: the shipped one)"
    )


class RetrievalSettings(Section):
    """Hybrid search over markdown notes, whose best passages the tutor is given each turn."""

    enabled: bool = True
    notes_dir: Path | None = Field(
        default=None,
        description="folder of *.md notes to search instead of the curriculum's concepts",
    )
    k: int = Field(default=1, ge=0, le=10, description="passages given per turn")
    bm25_weight: float = Field(default=0.5, ge=0.0)
    dense_weight: float = Field(default=0.5, ge=0.0)
    min_score: float = Field(default=0.35, ge=0.0, le=1.0, description="weaker passages unused")
    # The fused score ranks; these two decide whether a passage is about the question at all
    # (agent/retrieval/index.Relevance; evals/retrieval.py measures them).
    min_similarity: float = Field(
        default=0.35, ge=-1.0, le=1.0,
        description="a passage is used if its MiniLM cosine to the question reaches this ...",
    )  # fmt: skip
    min_coverage: float = Field(
        default=0.8, ge=0.0, le=1.0,
        description="... or it holds this share of the question's words (IDF-weighted)",
    )  # fmt: skip


class PersonalizationSettings(Section):
    """BitDelta: learners with a stored delta are answered by their own adapted SmolLM2."""

    enabled: bool = False
    store_dir: Path = Field(
        default=Path("data/deltas"), description="delta files and their SQLite index"
    )
    key_env: str | None = Field(
        default=None, description="environment variable holding the Fernet key for encryption"
    )
