"""Per-turn compute for the tutor's LLM stage: retrieval, the controller's decision, learning.

One TurnCompute serves the host (index, controller and backends are shared); the LLM service
of each session calls prepare() before answering and finish() after, and the session manager
reports each turn's commit_to_audio through observe_latency().
"""

from __future__ import annotations

import asyncio
import copy
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

from loguru import logger

from agent.backends.base import ChatBackend
from agent.config.prompts import NOTES_HEADER
from agent.controller.controller import ControllerReport, HLLMController
from agent.controller.decision import FACETS, ComputeDecision
from agent.retrieval.grounding import grounding
from agent.retrieval.index import Hit, HybridIndex
from agent.turn.source import as_decided, chooses, turn_features
from agent.tutoring.pedagogy import model_turn
from agent.tutoring.state import TurnReply, TutorState
from agent.tutoring.turn import TeachingTurn
from planner.observations import LearnerSignals

RECENT_SEARCHES = 16  # questions whose retrieval results are kept


def notes_addendum(notes: list[str]) -> str:
    """What a turn's notes add to the system prompt (nothing without notes)."""
    if not notes:
        return ""
    lines = [f"[{n}] {text}" for n, text in enumerate(notes, start=1)]
    return "\n" + NOTES_HEADER + "\n" + "\n".join(lines)


@dataclass
class TurnPlan:
    """What one turn may spend and what it was given. A plan with a grounded `reply`
    speaks that text and runs no model."""

    decision: ComputeDecision
    backend: ChatBackend
    hits: list[Hit] = field(default_factory=list)
    report: ControllerReport | None = None
    reply: TurnReply | None = None

    @property
    def grounded(self) -> bool:
        return self.reply is not None and self.reply.grounded

    @property
    def checked(self) -> bool:
        """A model writes the reply from the facets in `reply.notes` (a what-if), and only
        what they support may be spoken."""
        return self.reply is not None and bool(self.reply.notes)

    @property
    def notes(self) -> list[str]:
        return [hit.passage.text for hit in self.hits]

    @property
    def source(self) -> str:
        """What answers: exact (computed or graded), facets, or a model (source.py)."""
        if self.report is not None:
            return self.report.source
        if self.reply is not None and not chooses(self.reply):
            return "exact"
        if self.grounded:
            return FACETS
        return "llm" if self.decision.tier == "embedded" else "remote"

    def system_addendum(self) -> str:
        return notes_addendum([hit.passage.text for hit in self.hits])

    def citations(self) -> list[dict]:
        return [hit.as_citation(n) for n, hit in enumerate(self.hits, start=1)]


class TurnCompute:
    """Shared by every session on a host."""

    def __init__(
        self,
        backends: dict[str, ChatBackend],
        *,
        controller: HLLMController | None = None,
        index: HybridIndex | None = None,
        retrieval_k: int = 1,
        min_score: float = 0.2,
        sessions: Callable[[], int] = lambda: 1,
        on_report: Callable[[ControllerReport], None] | None = None,
        fixed: ComputeDecision = ComputeDecision(),
        teaching: TeachingTurn | None = None,
    ) -> None:
        """Without a controller every turn gets `fixed` (thinking off by default)."""
        if "embedded" not in backends and controller is None:
            raise ValueError("without a controller the backends must include 'embedded'")
        self.backends = backends
        self.controller = controller
        self.index = index
        self.retrieval_k = retrieval_k
        self.min_score = min_score
        self._sessions = sessions
        self._on_report = on_report
        self.fixed = fixed
        self._learning: set[asyncio.Task] = set()
        self.last_decisions: dict[str, ComputeDecision] = {}
        self.live_sessions: int | None = None  # overrides sessions() (benchmarks)
        self._recent_hits: OrderedDict[str, list[Hit]] = OrderedDict()
        self.teaching = teaching

    @property
    def has_remote(self) -> bool:
        """Whether a tier other than the embedded model can take uncovered questions."""
        return any(tier != "embedded" for tier in self.backends)

    async def teach(
        self,
        state: TutorState,
        question: str,
        signals: LearnerSignals | None = None,
        *,
        preview: bool = False,
    ) -> TurnReply | None:
        """The turn's reply and the planner's action: the curriculum's words, or (without a
        curriculum) a reply the model writes under the action's hint. Off the event loop:
        finding the concept may embed the question. preview leaves `state` as it was."""
        if not question.strip():
            return None
        if self.teaching is None:
            target = copy.deepcopy(state) if preview else state
            return model_turn(target, question, signals or state.signals)
        respond = self.teaching.preview if preview else self.teaching.respond
        return await asyncio.to_thread(respond, state, question, signals, remote=self.has_remote)

    def concept_hits(self, reply: TurnReply | None) -> list[Hit]:
        """The concept a reply came from, as the citation (and the notes a model reads)."""
        if reply is None or reply.concept is None or self.index is None:
            return []
        for passage in self.index.passages:
            if getattr(passage, "concept_id", None) == reply.concept.id:
                return [Hit(passage, 1.0, 0.0, 1.0, 1.0)]
        return []

    async def search(self, question: str) -> list[Hit]:
        """The knowledge-base passages for a question; the last few questions' results are
        kept, so a turn whose provisional transcript was searched finds them ready."""
        if self.index is None or not question.strip():
            return []
        hits = self._recent_hits.get(question)
        if hits is None:
            hits = await asyncio.to_thread(
                self.index.search, question, self.retrieval_k, self.min_score
            )
            self._recent_hits[question] = hits
            while len(self._recent_hits) > RECENT_SEARCHES:
                self._recent_hits.popitem(last=False)
        return hits

    async def notes_for(self, question: str) -> str:
        """What a turn on this question adds to the system prompt (its notes), without
        deciding anything: for reading the prompt ahead of the turn."""
        return notes_addendum([hit.passage.text for hit in await self.search(question)])

    async def prepare(
        self, session_id: str, question: str, reply: TurnReply | None = None
    ) -> TurnPlan:
        """The turn's plan: what answers (the controller prices the curriculum's own words
        against the models, agent/turn/source.py), what it reads and what it may spend."""
        if not chooses(reply):  # computed or graded: exact, nothing to choose
            return TurnPlan(self.fixed, self._embedded, self.concept_hits(reply), reply=reply)
        if reply is not None and (reply.concept is not None or reply.grounded):
            hits = self.concept_hits(reply)  # its concept's facets, or none for an abstention
        else:  # a model may write it: what the knowledge base holds on the question
            hits = await self.search(question)
        if self.controller is None:
            return self._ruled(reply, hits)
        sessions = self.live_sessions or self._sessions()
        features = turn_features(question, reply, hits[0].score if hits else 0.0, sessions)
        report = self.controller.decide(features, session_id)
        self.last_decisions[session_id] = report.decision
        if self._on_report is not None:
            self._on_report(report)
        decided = as_decided(reply, report.decision)
        if report.decision.tier == FACETS:  # no model reads anything; cite only a concept
            cited = hits if decided is not None and decided.concept is not None else []
            return TurnPlan(report.decision, self._embedded, cited, report, reply=decided)
        backend = self.backends.get(report.decision.tier) or self._embedded
        return TurnPlan(report.decision, backend, hits, report, reply=decided)

    def _ruled(self, reply: TurnReply | None, hits: list[Hit]) -> TurnPlan:
        """Without a controller: the curriculum's words where it has them, the remote tier
        for what it does not cover, else the fixed decision."""
        if reply is not None and reply.grounded:
            return TurnPlan(self.fixed, self._embedded, hits, reply=reply)
        if reply is not None and reply.mode == "remote" and self.has_remote:
            tier = next(t for t in self.backends if t != "embedded")
            return TurnPlan(ComputeDecision(tier=tier), self.backends[tier], hits, reply=reply)
        backend = self.backends.get(self.fixed.tier) or self._embedded
        return TurnPlan(self.fixed, backend, hits, reply=reply)

    @property
    def _embedded(self) -> ChatBackend:
        return self.backends.get("embedded") or next(iter(self.backends.values()))

    def likely_system_prompts(self, base: str) -> list[str]:
        """The system messages turns will send when one note or none is retrieved: the base
        prompt alone (a question the notes do not cover), then with each passage of the
        knowledge base (for the LLM's prefix cache to read ahead)."""
        if self.index is None or self.retrieval_k != 1:
            return []
        return [base] + [base + notes_addendum([passage.text]) for passage in self.index.passages]

    def forget(self, session_id: str) -> None:
        """A session ended: nothing of it is kept (a host runs thousands in its life)."""
        self.last_decisions.pop(session_id, None)
        if self.controller is not None:
            self.controller.forget(session_id)

    def observe_latency(self, session_id: str, commit_to_audio_ms: float | None) -> None:
        if self.controller is not None and commit_to_audio_ms is not None:
            self.controller.observe_latency(session_id, commit_to_audio_ms)

    def finish(self, session_id: str, plan: TurnPlan, answer: str, tokens: int) -> None:
        """Learn compute and quality from the answer, off the audio path."""
        if self.controller is None or plan.grounded:
            return
        task = asyncio.create_task(self._learn(session_id, plan, answer, tokens))
        self._learning.add(task)
        task.add_done_callback(self._learning.discard)

    async def _learn(self, session_id: str, plan: TurnPlan, answer: str, tokens: int) -> None:
        try:
            quality = await asyncio.to_thread(grounding, answer, plan.notes) if plan.hits else None
        except Exception as exc:  # a failed quality probe must not take the session down
            logger.warning("grounding failed: {}", exc)
            quality = None
        if self.controller is not None:
            self.controller.observe_usage(session_id, tokens, quality)
