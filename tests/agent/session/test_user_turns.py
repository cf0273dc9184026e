"""The user aggregator lets a provisional transcript by while the turn detector decides."""

from __future__ import annotations

import asyncio
import time

import pytest
from pipecat.frames.frames import Frame, VADUserStoppedSpeakingFrame
from pipecat.processors.aggregators.llm_context import LLMContext
from pipecat.processors.aggregators.llm_response_universal import (
    LLMUserAggregator,
    LLMUserAggregatorParams,
)
from pipecat.tests.utils import SleepFrame, run_test
from pipecat.turns.types import ProcessFrameResult
from pipecat.turns.user_start import VADUserTurnStartStrategy
from pipecat.turns.user_stop.base_user_turn_stop_strategy import BaseUserTurnStopStrategy
from pipecat.turns.user_turn_strategies import UserTurnStrategies

from agent.session.user_turns import UserTurnAggregator
from speech.frames import ProvisionalTranscriptFrame

VERDICT_S = 0.4  # how long the stand-in turn detector thinks after the VAD's stop


class SlowVerdict(BaseUserTurnStopStrategy):
    """Awaits a verdict on the VAD's stop, as smart-turn's inference does."""

    def __init__(self) -> None:
        super().__init__()
        self.decided_at: float | None = None

    async def process_frame(self, frame: Frame) -> ProcessFrameResult:
        await super().process_frame(frame)
        if isinstance(frame, VADUserStoppedSpeakingFrame):
            await asyncio.sleep(VERDICT_S)
            self.decided_at = time.perf_counter()
        return ProcessFrameResult.CONTINUE


@pytest.mark.parametrize("passes_by", [True, False])
async def test_a_provisional_transcript_is_not_held_behind_the_turn_verdict(passes_by):
    verdict = SlowVerdict()
    strategies = UserTurnStrategies(start=[VADUserTurnStartStrategy()], stop=[verdict])
    aggregator_class = UserTurnAggregator if passes_by else LLMUserAggregator
    aggregator = aggregator_class(
        LLMContext(), params=LLMUserAggregatorParams(user_turn_strategies=strategies)
    )
    arrivals: list[tuple[str, float]] = []

    @aggregator.event_handler("on_after_push_frame")
    async def note(_processor, frame):
        if isinstance(frame, ProvisionalTranscriptFrame):
            arrivals.append((frame.text, time.perf_counter()))

    frames = [
        VADUserStoppedSpeakingFrame(stop_secs=0.2),
        ProvisionalTranscriptFrame(text="What is gravity?"),
        SleepFrame(sleep=VERDICT_S + 0.2),
    ]
    down, _ = await run_test(aggregator, frames_to_send=frames, expected_down_frames=None)
    assert [f.text for f in down if isinstance(f, ProvisionalTranscriptFrame)] == [
        "What is gravity?"
    ]
    assert verdict.decided_at is not None and len(arrivals) == 1
    if passes_by:
        assert arrivals[0][1] < verdict.decided_at  # on its way while the verdict is pending
    else:
        assert arrivals[0][1] >= verdict.decided_at  # Pipecat's aggregator holds it back
