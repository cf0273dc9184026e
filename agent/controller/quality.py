"""Expected task loss per decision: a calibrated prior, refined online by a grounding signal.

The loss of a turn is 1 − quality, with quality in [0, 1]. `eco1 eval controller` measures
quality per setting on the tutor question set and can write the result as the prior; in the
service each answered turn adds its grounding score (how close the answer is to the passages
it was given), a signal available without reference answers.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from agent.controller.decision import FACETS, ComputeDecision, TurnFeatures

# Loss of an answer with no thinking and no critique; chit-chat is cheap to get right.
BASE_LOSS = {True: 0.5, False: 0.2}
# Priors for the curriculum's own words: a facet chosen as the answer is rarely wrong
# (docs/tutoring.md); an honest "I'm not sure" misleads no one but leaves the question
# unanswered, as costly as an even chance of a wrong answer.
FACET_ANSWER_LOSS = 0.02
HONEST_HEDGE_LOSS = 0.5
# The embedded model's reply checked against the facets (unsupported sentences dropped):
# little of what is left can be wrong. A prior; docs/tutoring.md measures such replies.
CHECKED_GAIN = 0.4


def component_keys(decision: ComputeDecision) -> list[str]:
    """The parts of a decision that change quality; "base" for the plain embedded answer.

    Evidence from a turn is credited to these keys only, so a plain turn teaches the base
    loss and a thinking turn teaches what thinking adds on top of it.
    """
    tier = decision.tier
    prefix = "" if tier == "embedded" else f"{tier}:"  # a remote model thinks differently
    keys = [f"tier:{tier}"] if tier != "embedded" else []
    keys += [f"{prefix}think:{decision.think_tokens}"] if decision.think_tokens else []
    keys += [f"{prefix}critique:{decision.critique_rounds}"] if decision.critique_rounds else []
    return keys or ["base"]


@dataclass
class QualityModel:
    """Relative loss multipliers per decision component (1.0 = no change from the base).

    `gains` are the prior: think:128 → 0.8 means thinking 128 tokens removes 20 % of the
    loss; keys for a tier other than the embedded one carry its name (remote:think:128).
    Online evidence moves each multiplier towards what grounding says, with weight
    `strength` pseudo-observations for the prior.
    """

    gains: dict[str, float] = field(default_factory=dict)
    strength: float = 20.0
    sums: dict[str, float] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)

    def multiplier(self, key: str) -> float:
        prior = self.gains.get(key, 1.0)
        n = self.counts.get(key, 0)
        return (prior * self.strength + self.sums.get(key, 0.0)) / (self.strength + n)

    def expected_loss(self, decision: ComputeDecision, turn: TurnFeatures) -> float:
        if decision.tier == FACETS:  # no model: the curriculum's words are as good as they are
            return 1.0 if turn.spoken_loss is None else turn.spoken_loss
        loss = BASE_LOSS[turn.question]
        if turn.question and turn.retrieval_score > 0:  # good notes make every answer easier
            loss *= 1.0 - 0.5 * min(turn.retrieval_score, 1.0)
        if turn.checked and decision.tier == "embedded":
            loss *= CHECKED_GAIN
        loss *= self.multiplier("base")
        for key in component_keys(decision):
            if key != "base":
                loss *= self.multiplier(key)
        return min(max(loss, 0.0), 1.0)

    def observe(self, decision: ComputeDecision, turn: TurnFeatures, quality: float) -> None:
        """Credit one turn's measured quality (0..1) to the decision's components."""
        expected = self.expected_loss(decision, turn)
        if expected <= 0:
            return
        keys = component_keys(decision)
        # Spread the surprise evenly (in log space) over the components that caused it.
        ratio = min(max((1.0 - quality) / expected, 0.05), 3.0) ** (1.0 / len(keys))
        for key in keys:
            self.sums[key] = self.sums.get(key, 0.0) + ratio * self.multiplier(key)
            self.counts[key] = self.counts.get(key, 0) + 1
