"""The WebSocket wire format for clients without WebRTC (a VR engine, a native app).

Binary messages carry audio as raw 16-bit little-endian mono PCM: the learner's microphone
at the rate the client chose (`/ws?rate=16000`), the tutor's voice at 24 kHz. Text messages
carry the same JSON events as the WebRTC data channels (docs/protocol.md).
"""

from __future__ import annotations

import json

from loguru import logger
from pipecat.frames.frames import (
    Frame,
    InputAudioRawFrame,
    InputTransportMessageFrame,
    OutputAudioRawFrame,
    OutputTransportMessageFrame,
    OutputTransportMessageUrgentFrame,
)
from pipecat.serializers.base_serializer import FrameSerializer

from agent.session.client_messages import ClientMessageError, parse_client_message

SUPPORTED_RATES = (8000, 16000, 24000, 48000)
MAX_AUDIO_MESSAGE_BYTES = 48000 * 2  # one second at the highest rate


class WireFormatError(ValueError):
    """A client message that does not follow the wire format; the text says how."""


def check_audio(data: bytes) -> None:
    if len(data) % 2:
        raise WireFormatError(
            f"audio must be 16-bit PCM: {len(data)} bytes is not a whole number of samples"
        )
    if len(data) > MAX_AUDIO_MESSAGE_BYTES:
        raise WireFormatError(
            f"audio message of {len(data)} bytes exceeds {MAX_AUDIO_MESSAGE_BYTES} (1 s)"
        )


class EcoWireSerializer(FrameSerializer):
    """PCM in binary messages, JSON in text messages; bad input becomes an error event."""

    def __init__(self, input_rate: int, report_error, on_reject=lambda: None) -> None:
        super().__init__()
        if input_rate not in SUPPORTED_RATES:
            raise WireFormatError(f"rate {input_rate} Hz is not one of {SUPPORTED_RATES}")
        self._rate = input_rate
        self._report_error = report_error  # called with a message for the client
        self._on_reject = on_reject  # counts the rejection (eco1_client_messages_rejected)

    async def serialize(self, frame: Frame) -> str | bytes | None:
        if isinstance(frame, OutputAudioRawFrame):
            return frame.audio
        if isinstance(frame, (OutputTransportMessageFrame, OutputTransportMessageUrgentFrame)):
            return json.dumps(frame.message, separators=(",", ":"))
        return None

    async def deserialize(self, data: str | bytes) -> Frame | None:
        try:
            if isinstance(data, bytes):
                check_audio(data)
                return InputAudioRawFrame(audio=data, sample_rate=self._rate, num_channels=1)
            message = parse_client_message(data)
            return InputTransportMessageFrame(message=message.model_dump())
        except (WireFormatError, ClientMessageError) as exc:
            logger.warning("dropped a malformed client message: {}", exc)
            self._on_reject()
            await self._report_error(str(exc))
            return None
