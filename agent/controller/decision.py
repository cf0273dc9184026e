"""What the controller decides for a turn, and what it knows about the turn when deciding."""

from __future__ import annotations

import itertools
import re
from dataclasses import asdict, dataclass

QUESTION_WORDS = re.compile(r"\b(why|how|what|which|explain|when|where|who|does|do|is|are|can)\b")

# The decision to run no model: the curriculum's own words are spoken (its facet, or an
# honest hedge). Not a backend tier: nothing is generated and nothing waits on a model.
FACETS = "facets"


@dataclass(frozen=True)
class ComputeDecision:
    """One turn's compute: thinking budget (0 = off), MoE experts, backend tier, critiques."""

    think_tokens: int = 0
    experts_k: int = 2
    tier: str = "embedded"
    critique_rounds: int = 0

    @property
    def thinking(self) -> bool:
        return self.think_tokens > 0

    @property
    def deliberates(self) -> bool:
        """Thinking or a critique round: the answer's first word waits for either."""
        return self.thinking or self.critique_rounds > 0

    @property
    def name(self) -> str:
        if self.tier == FACETS:
            return FACETS
        return (
            f"{self.tier}/think{self.think_tokens}/k{self.experts_k}/critique{self.critique_rounds}"
        )

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class TurnFeatures:
    """What is known before answering: the learner's words, retrieval confidence, host load,
    and what the curriculum offers without a model.

    spoken_loss: the expected loss of speaking the curriculum's own words (a facet that
    answers, or an honest hedge); None when it offers none (no curriculum).
    embedded_may_answer: False where the embedded model's words would be its own invention
    (a question outside the curriculum, or one its facets do not answer).
    checked: the embedded model's sentences are checked against a concept's facets and
    the unsupported ones dropped before they are spoken.
    """

    words: int
    question: bool
    retrieval_score: float  # best fused score of the knowledge base, 0 when none
    sessions: int  # live sessions on this host, this one included
    spoken_loss: float | None = None
    embedded_may_answer: bool = True
    checked: bool = False

    @classmethod
    def of(
        cls, text: str, retrieval_score: float = 0.0, sessions: int = 1, *,
        spoken_loss: float | None = None, embedded_may_answer: bool = True,
        checked: bool = False,
    ) -> TurnFeatures:  # fmt: skip
        lowered = text.lower()
        asks = "?" in text or bool(QUESTION_WORDS.match(lowered.strip()))
        return cls(
            len(text.split()), asks, float(retrieval_score), max(1, int(sessions)),
            spoken_loss, embedded_may_answer, checked,
        )  # fmt: skip

    def allows(self, decision: ComputeDecision) -> bool:
        """Whether a model decision can answer this turn at all (FACETS is priced apart)."""
        return decision.tier != "embedded" or self.embedded_may_answer

    def source(self, decision: ComputeDecision) -> str:
        """What answers: the facets alone, a model writing from them, or a model alone."""
        if decision.tier == FACETS:
            return FACETS
        model = "remote" if decision.tier != "embedded" else "llm"
        return f"facets+{model}" if self.retrieval_score > 0 else model


def candidate_grid(
    think_budgets: list[int], experts: list[int], tiers: list[str], max_critique_rounds: int
) -> list[ComputeDecision]:
    """Every combination the controller may choose from, cheapest first.

    A critique round drafts without thinking, so thinking and critique are not combined.
    """
    grid = [
        ComputeDecision(think, k, tier, rounds)
        for tier, think, rounds, k in itertools.product(
            tiers, sorted(set(think_budgets)), range(max_critique_rounds + 1), sorted(set(experts))
        )
        if not (think and rounds)
    ]
    if not grid:
        raise ValueError("the controller has no decisions to choose from")
    return grid
