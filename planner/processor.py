"""The planner's senses in the live pipeline, between the user's turn and the LLM.

The planner decides inside the turn (agent/tutoring/turn.py), once the learner's words are
graded. What the words do not say is gathered here: how long the learner stayed quiet after
the tutor stopped, and whether perception sees a face (LearnerObservationFrame). Before the
words are final, this also tells the LLM the hint the planner would most likely give (on a
provisional transcript, and when the tutor stops speaking) so the prompt can be read ahead.
"""

from __future__ import annotations

import time

from pipecat.frames.frames import BotStoppedSpeakingFrame, Frame, UserStartedSpeakingFrame
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor

from perception.frames import LearnerObservationFrame
from planner.frames import LikelyActionFrame
from planner.lesson import LessonPlanner
from planner.model import default_model
from planner.observations import LearnerSignals, dialogue_observation
from speech.frames import ProvisionalTranscriptFrame

# What a question observes before its words are heard: asked, and no answer given.
UNHEARD_QUESTION = "?"


class TutorPlannerProcessor(FrameProcessor):
    def __init__(
        self,
        lesson: LessonPlanner | None = None,
        signals: LearnerSignals | None = None,
        clock=time.monotonic,
        **kwargs,
    ) -> None:
        """lesson and signals: the session's, shared with its turn (agent/session/pipeline.py)."""
        super().__init__(**kwargs)
        self.lesson = lesson or LessonPlanner(default_model())
        self.signals = signals or LearnerSignals()
        self._clock = clock
        self._tutor_stopped_at: float | None = None

    def beliefs(self) -> dict[str, dict[str, float]]:
        return self.lesson.beliefs()

    @property
    def last_decision(self) -> dict | None:
        decision = self.lesson.last
        if decision is None:
            return None
        return {"action": decision.action, "gesture": decision.gesture,
                "concept": self.lesson.concept_id}  # fmt: skip

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        if isinstance(frame, BotStoppedSpeakingFrame):
            self._tutor_stopped_at = self._clock()
            self.signals.silence_s = 0.0
            await self._push_likely_hint()  # a question asked right away
        elif isinstance(frame, UserStartedSpeakingFrame):
            if self._tutor_stopped_at is not None:
                self.signals.silence_s = self._clock() - self._tutor_stopped_at
            await self._push_likely_hint()
        elif isinstance(frame, LearnerObservationFrame) and frame.face_present is not None:
            self.signals.face_present = frame.face_present
        elif isinstance(frame, ProvisionalTranscriptFrame):
            frame.likely_action = self.preview(frame.text)
        await self.push_frame(frame, direction)

    def preview(self, text: str) -> str:
        """The action the planner would choose for a turn on this text, deciding nothing yet
        (the turn itself may still grade it differently)."""
        last = self.lesson.last.action if self.lesson.last else None
        levels = dialogue_observation(text, last, self.signals)
        return self.lesson.preview(levels).action

    async def _push_likely_hint(self) -> None:
        """Tell the LLM the action a question now would get, so it can read its instruction
        into the next prompt before the learner's words are known."""
        action = self.preview(UNHEARD_QUESTION)
        await self.push_frame(LikelyActionFrame(action=action), FrameDirection.DOWNSTREAM)
