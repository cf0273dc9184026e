"""The planner in the live pipeline: between the user's turn and the LLM.

On each committed learner turn it observes (planner/observations.py: the dialogue, plus the
face from perception's LearnerObservationFrame when a camera is on), updates beliefs,
chooses an action and pushes a PlanActionFrame ahead of the LLM request, so the LLM prompt
and the avatar's gesture follow the same decision.
"""

from __future__ import annotations

import time

from loguru import logger
from pipecat.frames.frames import (
    BotStoppedSpeakingFrame,
    Frame,
    LLMContextFrame,
    UserStartedSpeakingFrame,
)
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor

from perception.frames import LearnerObservationFrame
from planner.agent import TutorPlanner
from planner.frames import LikelyHintFrame, PlanActionFrame
from planner.model import TutoringModel, load_tutoring_model, named_beliefs
from planner.observations import dialogue_observation, last_user_text
from speech.frames import ProvisionalTranscriptFrame

# What a question observes before its words are heard: asked, and no answer given.
UNHEARD_QUESTION = "?"


class TutorPlannerProcessor(FrameProcessor):
    def __init__(self, model: TutoringModel | None = None, clock=time.monotonic, **kwargs) -> None:
        super().__init__(**kwargs)
        self.planner = TutorPlanner(model or load_tutoring_model())
        self._clock = clock
        self._tutor_stopped_at: float | None = None
        self._silence_s = 0.0
        self._last_action: str | None = None
        self._face_present = True  # assumed until a camera says otherwise
        self.last_decision: dict | None = None

    def beliefs(self) -> dict[str, dict[str, float]]:
        return named_beliefs(self.planner.qs)

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        if isinstance(frame, BotStoppedSpeakingFrame):
            self._tutor_stopped_at = self._clock()
            await self._push_likely_hint(silence_s=0.0)  # a question asked right away
        elif isinstance(frame, UserStartedSpeakingFrame):
            if self._tutor_stopped_at is not None:
                self._silence_s = self._clock() - self._tutor_stopped_at
            await self._push_likely_hint(self._silence_s)
        elif isinstance(frame, LearnerObservationFrame) and frame.face_present is not None:
            self._face_present = frame.face_present
        elif isinstance(frame, LLMContextFrame) and not frame.speculation:
            await self.push_frame(self.decide(frame), direction)
        elif isinstance(frame, ProvisionalTranscriptFrame):
            frame.prompt_hint = self.preview(frame.text)
        await self.push_frame(frame, direction)

    def _observation(self, text: str, silence_s: float | None = None) -> tuple[dict, list[int]]:
        silence_s = self._silence_s if silence_s is None else silence_s
        levels = dialogue_observation(text, self._last_action, silence_s, self._face_present)
        return levels, self.planner.model.observation(**levels)

    def preview(self, text: str, silence_s: float | None = None) -> str:
        """The hint the planner would give a turn on this text, deciding nothing yet."""
        return self.planner.preview(self._observation(text, silence_s)[1]).prompt_hint

    async def _push_likely_hint(self, silence_s: float) -> None:
        """Tell the LLM the hint a question after `silence_s` would get, so it can read it
        into the next prompt before the learner's words are known."""
        hint = self.preview(UNHEARD_QUESTION, silence_s)
        await self.push_frame(LikelyHintFrame(prompt_hint=hint), FrameDirection.DOWNSTREAM)

    def decide(self, frame: LLMContextFrame) -> PlanActionFrame:
        text = last_user_text(frame.context.get_messages())
        levels, observation = self._observation(text)
        self.planner.observe(observation)
        decision = self.planner.decide()
        self._last_action = decision.action
        self.last_decision = {"action": decision.action, "gesture": decision.gesture,
                              "observation": levels}  # fmt: skip
        logger.info("planner: {} ({}) from {}", decision.action, decision.gesture, levels)
        return PlanActionFrame(
            action=decision.action,
            gesture=decision.gesture,
            prompt_hint=decision.prompt_hint,
            probabilities=decision.action_probabilities,
            beliefs=decision.beliefs,
        )
