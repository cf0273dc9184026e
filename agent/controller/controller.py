"""HLLM controller: per turn, pick the decision minimising E[loss] + λ_c·compute + λ_ℓ·latency.

- latency comes from an online cost model per backend tier (cost_model.py), taken at its upper
  quantile so the budget is met in the tail, not on average;
- λ_ℓ and λ_c are dual variables moved by every measured turn (duals.py);
- the choice is gated like a sticky mixture-of-experts router (perception.moe): a softmax over
  the decisions' scores is filtered through a hidden-Markov prior that favours the decision
  held now, so one noisy turn does not flip the tutor between thinking and not thinking;
- the curriculum's own words (FACETS: a facet, or an honest hedge) are priced beside the
  models, at their expected loss and no model latency, and win whenever no model is
  expected to do better for the wait (the source is chosen afresh each turn, not gated).

One controller serves a host: latency is a property of the host's load, so every session's
turns teach the same model.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np
import torch

from agent.controller.cost_model import CostModel, features, predict, prior_model, update
from agent.controller.decision import FACETS, ComputeDecision, TurnFeatures, candidate_grid
from agent.controller.duals import Duals, dual_step
from agent.controller.quality import QualityModel
from perception.moe import sticky_posterior

UPPER_QUANTILE_Z = 1.645  # one-sided 95 %
INFEASIBLE_PENALTY = 1.0


@dataclass(frozen=True)
class ControllerParams:
    """The knobs (agent.config.ControllerSettings fills them from the service's settings)."""

    budget_ms: float = 1500.0
    target_fraction: float = 0.7  # λ_ℓ steers mean latency here, leaving room for the tail
    compute_budget_tokens: float = 200.0
    eta_latency: float = 0.5
    eta_compute: float = 0.05
    initial_lambda_latency: float = 1.0
    lambda_ceiling: float = 5.0  # λ_ℓ = 5 already makes a budget-sized delay outweigh any loss
    # The least price of a budget-sized delay. λ_ℓ falls to 0 whenever turns stay under the
    # target, and latency would then cost nothing, so any gain at all (a critique round's
    # 1 % in `eco1 eval controller`, within that eval's noise) bought seconds of the
    # learner's wait; the learner prefers an answer sooner even inside the budget.
    latency_price_floor: float = 0.05
    think_budgets: tuple[int, ...] = (0, 48, 128)
    experts: tuple[int, ...] = (1, 2)
    tiers: tuple[str, ...] = ("embedded",)
    max_critique_rounds: int = 1
    answer_tokens: int = 80
    critique_tokens: int = 48
    stay: float = 0.8  # hidden-Markov prior mass on the decision held now
    temperature: float = 0.1
    prior_base_ms: float = 400.0
    prior_per_100_think_ms: float = 900.0
    prior_per_critique_ms: float = 1500.0
    quality_gains: dict[str, float] = field(
        default_factory=lambda: {"think:48": 0.9, "think:128": 0.8, "critique:1": 0.85}
    )


@dataclass(frozen=True)
class ControllerReport:
    """A decision and why: shown on /metrics and sent to the client as a `controller` event."""

    decision: ComputeDecision
    predicted_ms: float
    predicted_upper_ms: float
    expected_loss: float
    lambda_latency: float
    lambda_compute: float
    held: float  # gating posterior of the chosen decision (1.0 = fully settled)
    switched: bool
    decide_ms: float
    source: str = ""  # facets, facets+llm, llm, facets+remote or remote
    priced: dict[str, float] = field(default_factory=dict)  # least J per tier, facets included

    def as_event_fields(self) -> dict:
        return {
            "decision": self.decision.as_dict(),
            "source": self.source,
            "priced": {tier: round(score, 3) for tier, score in self.priced.items()},
            "predicted_ms": round(self.predicted_ms, 1),
            "predicted_p95_ms": round(self.predicted_upper_ms, 1),
            "expected_loss": round(self.expected_loss, 3),
            "lambda_latency": round(self.lambda_latency, 3),
            "lambda_compute": round(self.lambda_compute, 3),
            "held": round(self.held, 3),
            "switched": self.switched,
        }


@dataclass
class _Pending:
    decision: ComputeDecision
    turn: TurnFeatures
    x: np.ndarray
    latency_seen: bool = False
    usage_seen: bool = False


class HLLMController:
    """decide() before a turn's LLM call, observe() when its first audio has left."""

    def __init__(self, params: ControllerParams = ControllerParams()) -> None:
        self.params = params
        self.grid = candidate_grid(
            list(params.think_budgets),
            list(params.experts),
            list(params.tiers),
            params.max_critique_rounds,
        )
        self.models: dict[str, CostModel] = {
            tier: prior_model(
                params.prior_base_ms, params.prior_per_100_think_ms, params.prior_per_critique_ms
            )
            for tier in params.tiers
        }
        self.duals = Duals(latency=params.initial_lambda_latency)
        self.quality = QualityModel(gains=dict(params.quality_gains))
        self._posterior: torch.Tensor | None = None
        self._held: ComputeDecision | None = None
        self._pending: dict[str, _Pending] = {}
        self.turns_observed = 0

    def planned_tokens(self, decision: ComputeDecision) -> float:
        """Tokens a decision will generate at most (the compute it asks for)."""
        p = self.params
        per_round = p.critique_tokens + p.answer_tokens
        return decision.think_tokens + p.answer_tokens + decision.critique_rounds * per_round

    @property
    def latency_price(self) -> float:
        """What a budget-sized delay costs now, in units of expected loss: λ_ℓ, floored."""
        return max(self.duals.latency, self.params.latency_price_floor)

    def scores(self, turn: TurnFeatures) -> tuple[np.ndarray, list[tuple[float, float, float]]]:
        """J for every candidate, plus (mean ms, upper ms, expected loss) for each."""
        p = self.params
        details, scores = [], []
        for decision in self.grid:
            if not turn.allows(decision):
                scores.append(math.inf)
                details.append((math.nan, math.nan, math.nan))
                continue
            mean, std = predict(self.models[decision.tier], features(decision, turn))
            upper = mean + UPPER_QUANTILE_Z * std
            loss = self.quality.expected_loss(decision, turn)
            compute = self.planned_tokens(decision) / p.compute_budget_tokens
            score = loss + self.duals.compute * compute + self.latency_price * upper / p.budget_ms
            if upper > p.budget_ms:
                score += INFEASIBLE_PENALTY
            scores.append(score)
            details.append((mean, upper, loss))
        return np.array(scores), details

    def priced(self, turn: TurnFeatures, scores: np.ndarray) -> dict[str, float]:
        """The least J each source can reach this turn (what the decision weighed)."""
        priced = {}
        if turn.spoken_loss is not None:
            priced[FACETS] = self.quality.expected_loss(ComputeDecision(tier=FACETS), turn)
        for tier in self.params.tiers:
            mine = [s for d, s in zip(self.grid, scores, strict=True) if d.tier == tier]
            best = min(mine, default=math.inf)
            if math.isfinite(best):
                priced[tier] = float(best)
        return priced

    def decide(self, turn: TurnFeatures, session_id: str = "") -> ControllerReport:
        """The decision for this turn; remembered per session until observe()."""
        started = time.perf_counter()
        scores, details = self.scores(turn)
        priced = self.priced(turn, scores)
        models = [score for tier, score in priced.items() if tier != FACETS]
        if FACETS in priced and priced[FACETS] <= min(models, default=math.inf):
            return self._spoken(turn, session_id, priced, started)
        if not models:
            raise ValueError("no decision can answer this turn")
        logits = torch.as_tensor(-(scores - scores.min()) / self.params.temperature)
        probs = torch.softmax(logits, dim=0)
        self._posterior = sticky_posterior(probs, self._posterior, self.params.stay)
        best = int(torch.argmax(self._posterior))
        decision = self.grid[best]
        switched = self._held is not None and decision != self._held
        self._held = decision
        self._pending[session_id] = _Pending(decision, turn, features(decision, turn))
        mean, upper, loss = details[best]
        return ControllerReport(
            decision=decision,
            predicted_ms=mean,
            predicted_upper_ms=upper,
            expected_loss=loss,
            lambda_latency=self.duals.latency,
            lambda_compute=self.duals.compute,
            held=float(self._posterior[best]),
            switched=switched,
            decide_ms=(time.perf_counter() - started) * 1000.0,
            source=turn.source(decision),
            priced=priced,
        )

    def _spoken(
        self, turn: TurnFeatures, session_id: str, priced: dict[str, float], started: float
    ) -> ControllerReport:
        """No model: nothing to gate (the model gate's state is kept); its latency still
        counts towards the budget that λ_ℓ keeps, so quick turns leave room for a model."""
        decision = ComputeDecision(experts_k=self.grid[0].experts_k, tier=FACETS)
        self._pending[session_id] = _Pending(decision, turn, features(decision, turn))
        return ControllerReport(
            decision=decision,
            predicted_ms=0.0,
            predicted_upper_ms=0.0,
            expected_loss=priced[FACETS],
            lambda_latency=self.duals.latency,
            lambda_compute=self.duals.compute,
            held=1.0,
            switched=False,
            decide_ms=(time.perf_counter() - started) * 1000.0,
            source=FACETS,
            priced=priced,
        )

    def observe_latency(self, session_id: str, latency_ms: float) -> bool:
        """Learn from a turn's measured commit_to_audio: the cost model and λ_ℓ.

        Returns False when no decision is pending for the session (nothing learnt).
        """
        pending = self._pending.get(session_id)
        if pending is None or pending.latency_seen or not np.isfinite(latency_ms) or latency_ms < 0:
            return False
        p = self.params
        tier = pending.decision.tier
        if tier != FACETS:  # no model ran: nothing to learn about one
            self.models[tier] = update(self.models[tier], pending.x, float(latency_ms))
        target = p.target_fraction * p.budget_ms
        self.duals.latency = dual_step(
            self.duals.latency, latency_ms, target, p.budget_ms, p.eta_latency, p.lambda_ceiling
        )
        pending.latency_seen = True
        self.turns_observed += 1
        return True

    def observe_usage(self, session_id: str, tokens: float, quality: float | None = None) -> bool:
        """Learn from what the turn generated (λ_c) and how good it was (0..1, optional)."""
        pending = self._pending.get(session_id)
        if pending is None or pending.usage_seen:
            return False
        p = self.params
        self.duals.compute = dual_step(
            self.duals.compute, tokens, p.compute_budget_tokens, p.compute_budget_tokens,
            p.eta_compute,
        )  # fmt: skip
        if quality is not None:
            self.quality.observe(pending.decision, pending.turn, quality)
        pending.usage_seen = True
        return True

    def observe(
        self, session_id: str, latency_ms: float, tokens: float | None = None,
        quality: float | None = None,
    ) -> bool:  # fmt: skip
        """Both observations at once (for callers that know everything when the turn ends)."""
        learnt = self.observe_latency(session_id, latency_ms)
        if learnt and tokens is not None:
            self.observe_usage(session_id, tokens, quality)
        self._pending.pop(session_id, None)
        return learnt

    def forget(self, session_id: str) -> None:
        """A session ended mid-turn: drop its pending decision."""
        self._pending.pop(session_id, None)
