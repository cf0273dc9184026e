"""Service metrics in Prometheus text format, plus a short in-memory history of turns."""

from __future__ import annotations

from collections import deque
from dataclasses import asdict
from typing import Any

from loguru import logger
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from agent.session.latency import STAGES, TurnRecord

STALL_BUCKETS_MS = (1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500)  # loop lag, pool wait
# Buckets in milliseconds: 10 ms to 10 s, dense where CPU and GPU turns land.
LATENCY_BUCKETS_MS = (
    10,
    25,
    50,
    75,
    100,
    150,
    200,
    300,
    500,
    750,
    1000,
    1500,
    2000,
    3000,
    5000,
    10000,
)


class ServiceMetrics:
    """One registry per app, so tests and several apps in a process do not collide."""

    def __init__(self, history: int = 1000) -> None:
        self.registry = CollectorRegistry()
        self._session_metrics()
        self._timing_metrics()
        self._controller_metrics()
        self.recent_turns: deque[TurnRecord] = deque(maxlen=history)

    def _session_metrics(self) -> None:
        """Sessions, turns, refusals, faults and fallbacks."""
        self.turns = Counter("eco1_turns", "Answered learner turns", registry=self.registry)
        self.sessions_active = Gauge(
            "eco1_sessions_active", "Live WebRTC sessions", registry=self.registry
        )
        self.sessions = Counter("eco1_sessions", "Sessions ever opened", registry=self.registry)
        self.offers_rejected = Counter(
            "eco1_offers_rejected",
            "Signalling requests refused",
            ["reason"],
            registry=self.registry,
        )
        self.client_messages_rejected = Counter(
            "eco1_client_messages_rejected",
            "Data-channel messages dropped for not following the protocol",
            registry=self.registry,
        )
        self.faults_injected = Counter(
            "eco1_faults_injected", "Faults injected for testing", ["kind"], registry=self.registry
        )
        self.fallbacks = Counter(
            "eco1_fallbacks", "Turns where a stage failed and a fallback was spoken", ["stage"],
            registry=self.registry,
        )  # fmt: skip

    def _timing_metrics(self) -> None:
        """Stage latencies, the event loop, motion, personal swaps and speculation."""
        self.stage_ms = Histogram(
            "eco1_stage_latency_ms",
            "Per-turn latency of each pipeline stage, in milliseconds",
            ["stage"],
            buckets=LATENCY_BUCKETS_MS,
            registry=self.registry,
        )
        self.loop_lag_ms = Histogram(
            "eco1_event_loop_lag_ms",
            "How late a 50 ms event-loop timer fired, in milliseconds",
            buckets=STALL_BUCKETS_MS,
            registry=self.registry,
        )
        self.pool_wait_ms = Histogram(
            "eco1_thread_pool_wait_ms",
            "How long a no-op waited for a thread of the default pool (aiortc's codecs)",
            buckets=STALL_BUCKETS_MS,
            registry=self.registry,
        )
        self.motion_lag_ms = Histogram(
            "eco1_motion_lag_ms",
            "Tutor audio handed to WebRTC until the first motion frame showing it is sent",
            buckets=(1, 2, 5, 10, 17, 20, 33, 50, 100, 250),
            registry=self.registry,
        )
        self.personal_swap_ms = Histogram(
            "eco1_personal_swap_ms",
            "Reading a learner's BitDelta and swapping it into the shared model, in milliseconds",
            buckets=(1, 5, 10, 25, 50, 100, 250, 500, 1000),
            registry=self.registry,
        )
        self.speculations = Counter(
            "eco1_speculations",
            "Work begun before a learner's turn committed, by stage and how it ended "
            "(counted when the session ends)",
            ["stage", "outcome"],
            registry=self.registry,
        )

    def _controller_metrics(self) -> None:
        """The HLLM controller's dual variables and decisions."""
        self.controller_lambda = Gauge(
            "eco1_controller_lambda", "HLLM controller dual variables", ["constraint"],
            registry=self.registry,
        )  # fmt: skip
        self.controller_decision = Gauge(
            "eco1_controller_decision", "The controller's latest decision, part by part", ["part"],
            registry=self.registry,
        )  # fmt: skip
        self.controller_predicted_ms = Gauge(
            "eco1_controller_predicted_ms",
            "Predicted commit_to_audio of the latest decision (mean and 95th percentile)",
            ["quantity"],
            registry=self.registry,
        )
        self.controller_decisions = Counter(
            "eco1_controller_decisions", "Turns decided, by decision", ["decision"],
            registry=self.registry,
        )  # fmt: skip
        self.controller_switches = Counter(
            "eco1_controller_switches", "Times the held decision changed", registry=self.registry
        )

    def record_speculations(self, pipeline: Any) -> None:
        """Add the speculation counts of a finished session's processors (those having a
        `speculations` dataclass: the streaming ASR's early passes, the LLM's early answers),
        nested pipelines included."""
        pending = [pipeline]
        while pending:
            processor = pending.pop()
            pending.extend(processor.processors)
            counts = getattr(processor, "speculations", None)
            if counts is None or not hasattr(counts, "stage"):
                continue
            for outcome, value in asdict(counts).items():
                self.speculations.labels(stage=counts.stage, outcome=outcome).inc(value)

    def record_decision(self, report) -> None:
        """Expose one HLLM controller decision (agent.controller.ControllerReport)."""
        decision = report.decision
        self.controller_lambda.labels(constraint="latency").set(report.lambda_latency)
        self.controller_lambda.labels(constraint="compute").set(report.lambda_compute)
        self.controller_decision.labels(part="think_tokens").set(decision.think_tokens)
        self.controller_decision.labels(part="experts_k").set(decision.experts_k)
        self.controller_decision.labels(part="critique_rounds").set(decision.critique_rounds)
        self.controller_decision.labels(part="remote_tier").set(decision.tier != "embedded")
        self.controller_predicted_ms.labels(quantity="mean").set(report.predicted_ms)
        self.controller_predicted_ms.labels(quantity="p95").set(report.predicted_upper_ms)
        self.controller_decisions.labels(decision=decision.name).inc()
        self.controller_switches.inc(report.switched)
        self.stage_ms.labels(stage="controller").observe(report.decide_ms)

    def record_turn(self, record: TurnRecord) -> None:
        """Count a finished turn, observe each stage, keep it for /api/turns, log it."""
        self.turns.inc()
        for stage in STAGES:
            if stage in record.stages:
                self.stage_ms.labels(stage=stage).observe(record.stages[stage])
        self.recent_turns.append(record)
        logger.bind(session=record.session_id, turn=record.index, **record.stages).info(
            "turn latency {}", record.stages
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)
