"""Builds the host's TurnCompute (controller, knowledge base, backend tiers) from Settings."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from loguru import logger

from agent.backends.base import ChatBackend
from agent.backends.factory import create_backend
from agent.config import RetrievalSettings, Settings
from agent.controller.controller import ControllerParams, ControllerReport, HLLMController
from agent.turn.compute import TurnCompute
from agent.tutoring.curriculum import Curriculum, load_curriculum

if TYPE_CHECKING:
    from agent.retrieval.index import HybridIndex
    from agent.tutoring.turn import TeachingTurn


def controller_params(settings: Settings, tiers: list[str], experts: list[int]) -> ControllerParams:
    c = settings.controller
    return ControllerParams(
        budget_ms=c.budget_ms,
        target_fraction=c.target_fraction,
        compute_budget_tokens=c.compute_budget_tokens,
        eta_latency=c.eta_latency,
        latency_price_floor=c.latency_price_floor,
        eta_compute=c.eta_compute,
        think_budgets=tuple(c.think_budgets),
        experts=tuple(experts),
        tiers=tuple(tiers),
        max_critique_rounds=c.max_critique_rounds,
        answer_tokens=settings.llm.max_tokens,
        stay=c.stay,
        temperature=c.temperature,
        quality_gains=dict(c.quality_gains),
    )


def backend_tiers(settings: Settings) -> dict[str, ChatBackend]:
    """'embedded' is the service's own LLM setting (embedded or not); 'remote' if configured."""
    tiers = {"embedded": create_backend(settings.llm)}
    if settings.controller.enabled and settings.controller.remote is not None:
        tiers["remote"] = create_backend(settings.controller.remote)
    return tiers


def build_index(retrieval: RetrievalSettings, curriculum: Curriculum | None = None) -> HybridIndex:
    """The search index as configured (weights and relevance gate): the curriculum's
    concepts, or a folder of markdown notes when `retrieval.notes_dir` names one."""
    from agent.retrieval.index import HybridIndex, Relevance
    from agent.tutoring.matching import concept_passages

    options = dict(
        bm25_weight=retrieval.bm25_weight,
        dense_weight=retrieval.dense_weight,
        relevance=Relevance(retrieval.min_similarity, retrieval.min_coverage),
    )
    if retrieval.notes_dir is None and curriculum is not None:
        return HybridIndex(concept_passages(curriculum), **options)
    return HybridIndex.from_folder(retrieval.notes_dir, **options)


def build_teaching(
    settings: Settings, curriculum: Curriculum, index: HybridIndex | None
) -> TeachingTurn | None:
    """The curriculum's turn logic, or None when grounded answers are off."""
    if not settings.tutoring.grounded:
        return None
    from agent.retrieval.index import embed
    from agent.tutoring.facets import SentencePicker
    from agent.tutoring.matching import ConceptMatcher
    from agent.tutoring.turn import TeachingTurn

    concept_index = index if index is not None and _holds_concepts(index) else None
    picker = SentencePicker(embed)
    picker.warm(list(curriculum.concepts.values()))
    return TeachingTurn(curriculum, ConceptMatcher(curriculum, concept_index), picker,
                        similarity=sentence_similarity)  # fmt: skip


def _holds_concepts(index: HybridIndex) -> bool:
    from agent.tutoring.matching import ConceptPassage

    return bool(index.passages) and isinstance(index.passages[0], ConceptPassage)


def sentence_similarity(a: str, b: str) -> float:
    """Cosine of two texts' MiniLM embeddings (grading longer check-question replies)."""
    from agent.retrieval.index import embed

    left, right = embed([a, b])
    return float(left @ right)


def build_turn_compute(
    settings: Settings,
    *,
    sessions: Callable[[], int] = lambda: 1,
    on_report: Callable[[ControllerReport], None] | None = None,
    moe_layers: int = 0,
) -> TurnCompute:
    """moe_layers: how many MoE layers the perception model has (experts only matter then)."""
    index = None
    curriculum = load_curriculum(settings.tutoring.curriculum_dir)
    if settings.retrieval.enabled and settings.retrieval.k > 0:
        index = build_index(settings.retrieval, curriculum)
        logger.info("knowledge base: {} passages", len(index.passages))
    teaching = build_teaching(settings, curriculum, index)
    backends = backend_tiers(settings)
    controller = None
    if settings.controller.enabled:
        experts = settings.controller.experts if moe_layers else settings.controller.experts[:1]
        controller = HLLMController(controller_params(settings, list(backends), experts))
    return TurnCompute(
        backends,
        controller=controller,
        index=index,
        retrieval_k=settings.retrieval.k,
        min_score=settings.retrieval.min_score,
        sessions=sessions,
        on_report=on_report,
        teaching=teaching,
    )


def perception_moe_hook(settings: Settings) -> tuple[int, Callable[[int], None]]:
    """(MoE layers in the perception model, a function setting their top-k) for experts_k."""
    if not settings.perception.enabled:
        return 0, lambda _k: None
    from perception.checkpoint import shared_model
    from perception.moe import set_inference_top_k

    model = shared_model(settings.perception.checkpoint)
    layers = set_inference_top_k(model, settings.controller.experts[-1])
    return layers, lambda k: set_inference_top_k(model, k)


class HostCompute:
    """The host's TurnCompute, built once on first use (thread-safe: built off the loop)."""

    def __init__(self, settings: Settings, sessions: Callable[[], int], metrics=None) -> None:
        self._settings = settings
        self._sessions = sessions
        self._metrics = metrics
        self._lock = threading.Lock()
        self._compute: TurnCompute | None = None

    def __call__(self) -> TurnCompute:
        with self._lock:
            if self._compute is None:
                layers, set_top_k = perception_moe_hook(self._settings)

                def on_report(report: ControllerReport) -> None:
                    if self._metrics is not None:
                        self._metrics.record_decision(report)
                    if layers:
                        set_top_k(report.decision.experts_k)

                self._compute = build_turn_compute(
                    self._settings, sessions=self._sessions, on_report=on_report,
                    moe_layers=layers,
                )  # fmt: skip
            return self._compute


def read_ahead_knowledge_base(compute: TurnCompute, system_prompt: str, stop: threading.Event):
    """Let the embedded LLM save the state of every one-note system message, followed by
    the planner's usual hint for a question (run in a thread, at low priority, after
    start-up): the first question on each topic then starts with its notes and hint already
    read. Returns how many were read."""
    from agent.turn.service import reply_instruction
    from planner.tutor_planner import QUESTION_ACTION

    backend = compute.backends.get("embedded")
    if not hasattr(backend, "read_ahead"):
        return 0
    hint = reply_instruction(QUESTION_ACTION)
    prompts = [[prompt, hint] for prompt in compute.likely_system_prompts(system_prompt)]
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)  # this thread only
    except (AttributeError, OSError):
        pass
    started = time.monotonic()
    read = backend.read_ahead(prompts, stop)
    logger.info("LLM read ahead {} of {} knowledge-base prompts in {:.0f} s", read, len(prompts),
                time.monotonic() - started)  # fmt: skip
    return read
