"""What answers a turn, as the controller chose it: the curriculum's words alone (a facet, or
an honest hedge), a model writing from the concept's facets (checked against them), or the
remote tier.

The teaching turn proposes (agent/tutoring/turn.py); these functions say what its proposal
offers the controller and turn the controller's choice back into the reply that is spoken.
"""

from __future__ import annotations

from dataclasses import replace

from agent.controller.decision import FACETS, ComputeDecision, TurnFeatures
from agent.controller.quality import FACET_ANSWER_LOSS, HONEST_HEDGE_LOSS
from agent.tutoring.state import TurnReply

# Computed, graded or small talk: exact by construction, no model could improve them.
EXACT_MODES = frozenset({"arithmetic", "social", "grade"})
# Replies the embedded model may write: from the facets of a concept that answers the
# question, or with no curriculum at all. A question the facets do not answer, or one
# outside the curriculum, is for the remote tier or an honest hedge, never its invention.
EMBEDDED_MODES = frozenset({"facet", "llm", "model"})
CHECKED_MODES = frozenset({"facet", "llm"})  # the model writes from the concept's facets


def chooses(reply: TurnReply | None) -> bool:
    """Whether the controller has a choice to make for this reply."""
    return reply is None or reply.mode not in EXACT_MODES


def spoken_loss(reply: TurnReply | None) -> float | None:
    """The expected loss of the curriculum's own words for this reply (None: it has none)."""
    if reply is None or (reply.text is None and reply.fallback is None):
        return None  # no curriculum words on offer (a model's reply with no fallback)
    return FACET_ANSWER_LOSS if reply.mode == "facet" else HONEST_HEDGE_LOSS


def turn_features(
    question: str, reply: TurnReply | None, retrieval_score: float, sessions: int
) -> TurnFeatures:
    return TurnFeatures.of(
        question, retrieval_score, sessions,
        spoken_loss=spoken_loss(reply),
        embedded_may_answer=reply is None or reply.mode in EMBEDDED_MODES,
        checked=reply is not None and reply.concept is not None and reply.mode in CHECKED_MODES,
    )  # fmt: skip


def as_decided(reply: TurnReply | None, decision: ComputeDecision) -> TurnReply | None:
    """The reply the decision speaks: the facet or hedge as written, or a model's reply."""
    if reply is None:
        return None
    if decision.tier == FACETS:
        if reply.text is not None or reply.fallback is None:
            return reply
        mode = "hedge" if reply.concept is not None else "abstain"
        return replace(reply, text=reply.fallback, mode=mode, notes=())
    if reply.text is None:  # a model writes it already (a what-if, the remote tier)
        return reply
    if decision.tier == "embedded" and reply.concept is not None:  # facets plus the LLM
        return replace(reply, text=None, mode="llm", notes=reply.concept.facts, main=None)
    return replace(reply, text=None, mode="remote", notes=(), main=None)
