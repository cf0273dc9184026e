"""The learner's side of the context: Pipecat's user aggregator, letting early transcripts by.

Pipecat's LLMUserAggregator handles the VAD's stop by awaiting smart-turn's verdict (about
80 ms of inference on a 2-core host) inside its input task, and every frame queued behind
that stop waits with it. The early final pass (speech/streaming_asr.py) often ends just
after the VAD's stop, so its ProvisionalTranscriptFrame reached the LLM only together with
the committed turn, and the answer that should have been begun during those 80 ms was begun
at the commit. This aggregator passes a provisional transcript on as it arrives; it is only
a hint (the LLM may read ahead on it, nothing is said from it), so overtaking the frames
queued before it changes no turn.
"""

from __future__ import annotations

from pipecat.frames.frames import Frame
from pipecat.processors.aggregators.llm_context import LLMContext
from pipecat.processors.aggregators.llm_response_universal import (
    LLMAssistantAggregator,
    LLMUserAggregator,
    LLMUserAggregatorParams,
)
from pipecat.processors.frame_processor import FrameCallback, FrameDirection

from speech.frames import ProvisionalTranscriptFrame


class UserTurnAggregator(LLMUserAggregator):
    """LLMUserAggregator whose provisional transcripts skip its input queue."""

    async def queue_frame(
        self,
        frame: Frame,
        direction: FrameDirection = FrameDirection.DOWNSTREAM,
        callback: FrameCallback | None = None,
    ) -> None:
        passes_by = (
            isinstance(frame, ProvisionalTranscriptFrame)
            and direction == FrameDirection.DOWNSTREAM
            and callback is None
        )
        if passes_by:
            await self.push_frame(frame, direction)
        else:
            await super().queue_frame(frame, direction, callback)


def context_aggregators(
    context: LLMContext, user_params: LLMUserAggregatorParams
) -> tuple[UserTurnAggregator, LLMAssistantAggregator]:
    """The user and assistant aggregators sharing one context (what Pipecat's
    LLMContextAggregatorPair builds for a cascaded pipeline, with our user side)."""
    return UserTurnAggregator(context, params=user_params), LLMAssistantAggregator(context)
