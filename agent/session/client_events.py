"""Events for the learner's page: transcripts, the tutor's spoken text, speaking state, latency.

Sent as JSON on the WebRTC data channel. Every message carries the protocol version `v`
and a `type`; docs/protocol.md lists them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from pipecat.frames.frames import (
    BotStartedSpeakingFrame,
    BotStoppedSpeakingFrame,
    InterimTranscriptionFrame,
    TranscriptionFrame,
    TTSTextFrame,
    UserStartedSpeakingFrame,
)
from pipecat.observers.base_observer import BaseObserver, FramePushed
from pipecat.processors.frame_processor import FrameDirection

from agent.session.latency import TurnRecord
from agent.turn.frames import (
    CitationsFrame,
    ContinuedTurnFrame,
    ControllerDecisionFrame,
    TeachingFrame,
    ThinkingFrame,
)
from perception.frames import LearnerObservationFrame
from planner.frames import PlanActionFrame
from speech.frames import FallbackFrame

PROTOCOL_VERSION = 1

Send = Callable[[dict[str, Any]], Awaitable[None]]


def event(kind: str, **fields: Any) -> dict[str, Any]:
    """One protocol message."""
    return {"v": PROTOCOL_VERSION, "type": kind, **fields}


def frame_event(frame) -> dict[str, Any] | None:
    """The client message a pipeline frame turns into, if any."""
    if isinstance(frame, TranscriptionFrame):
        return event("transcript", role="user", final=True, text=frame.text.strip())
    if isinstance(frame, InterimTranscriptionFrame):
        return event("transcript", role="user", final=False, text=frame.text.strip())
    if isinstance(frame, TTSTextFrame):
        return event("transcript", role="tutor", final=True, text=frame.text.strip())
    if isinstance(frame, PlanActionFrame):
        return event(
            "action",
            action=frame.action,
            gesture=frame.gesture,
            probabilities=frame.probabilities,
            beliefs=frame.beliefs,
        )
    if isinstance(frame, ThinkingFrame):
        return event("thinking", text=frame.text)
    if isinstance(frame, CitationsFrame):
        return event("citations", citations=frame.citations)
    if isinstance(frame, ControllerDecisionFrame):
        return event("controller", **frame.report)
    if isinstance(frame, TeachingFrame):
        return event("teaching", **frame.teaching)
    if isinstance(frame, ContinuedTurnFrame):
        return event("continued", first=frame.first, rest=frame.rest, question=frame.question)
    if isinstance(frame, FallbackFrame):
        return event("fallback", stage=frame.stage, reason=frame.reason)
    if isinstance(frame, LearnerObservationFrame):
        return event(
            "perception",
            face_present=frame.face_present,
            motion_energy=frame.motion_energy,
            speaking_fraction=frame.speaking_fraction,
            silence_s=frame.silence_s,
            video_steps=frame.video_steps,
            frames_dropped=frame.frames_dropped,
        )
    if isinstance(frame, UserStartedSpeakingFrame):
        return event("speaking", role="user", speaking=True)
    if isinstance(frame, BotStartedSpeakingFrame):
        return event("speaking", role="tutor", speaking=True)
    if isinstance(frame, BotStoppedSpeakingFrame):
        return event("speaking", role="tutor", speaking=False)
    return None


def latency_event(record: TurnRecord) -> dict[str, Any]:
    return event("latency", turn=record.index, stages=record.stages)


class ClientEventRelay(BaseObserver):
    """Forwards the frames a learner should see to the client, once each."""

    def __init__(self, send: Send) -> None:
        super().__init__()
        self._send = send

    async def on_push_frame(self, data: FramePushed) -> None:
        if not (data.first_push and data.direction == FrameDirection.DOWNSTREAM):
            return
        if (message := frame_event(data.frame)) is not None:
            await self._send(message)
