"""/metrics counts how a finished session's speculative work ended, nested pipelines too."""

from __future__ import annotations

from pipecat.pipeline.pipeline import Pipeline
from pipecat.processors.frame_processor import FrameProcessor

from agent.session.metrics import ServiceMetrics
from agent.turn.speculation import AnswerSpeculationCounts as AnswerCounts
from speech.streaming_asr import TranscriptSpeculationCounts as PassCounts


class Counting(FrameProcessor):
    def __init__(self, counts) -> None:
        super().__init__()
        self.speculations = counts


def sample(metrics: ServiceMetrics, stage: str, outcome: str) -> float | None:
    return metrics.registry.get_sample_value(
        "eco1_speculations_total", {"stage": stage, "outcome": outcome}
    )


def test_a_sessions_counts_are_added_per_stage_and_outcome():
    metrics = ServiceMetrics()
    inner = Pipeline([Counting(PassCounts(used=3, voided=1))])
    answers = Counting(AnswerCounts(started=4, adopted=2, discarded=2))
    session = Pipeline([FrameProcessor(), inner, answers])
    metrics.record_speculations(session)
    metrics.record_speculations(Pipeline([Counting(AnswerCounts(started=1, adopted=1))]))
    assert sample(metrics, "asr", "used") == 3 and sample(metrics, "asr", "voided") == 1
    assert sample(metrics, "llm", "started") == 5 and sample(metrics, "llm", "adopted") == 3
    assert sample(metrics, "llm", "discarded") == 2
    assert b"eco1_speculations_total" in metrics.render()
