"""The WebSocket wire format: PCM and JSON in, clear errors for anything else."""

import json

import pytest
from pipecat.frames.frames import (
    InputAudioRawFrame,
    InputTransportMessageFrame,
    OutputAudioRawFrame,
    OutputTransportMessageUrgentFrame,
)

from agent.session.ws_serializer import MAX_AUDIO_MESSAGE_BYTES, EcoWireSerializer, WireFormatError


@pytest.fixture()
def errors():
    return []


@pytest.fixture()
def serializer(errors):
    async def report(message):
        errors.append(message)

    return EcoWireSerializer(16000, report)


async def test_pcm_and_json_come_in(serializer, errors):
    audio = await serializer.deserialize(b"\x00\x01" * 160)
    assert isinstance(audio, InputAudioRawFrame) and audio.sample_rate == 16000
    ping = await serializer.deserialize('{"v": 1, "type": "ping"}')
    assert isinstance(ping, InputTransportMessageFrame) and ping.message["type"] == "ping"
    assert errors == []


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"\x00\x01\x02", "16-bit PCM"),
        (b"\x00" * (MAX_AUDIO_MESSAGE_BYTES + 2), "exceeds"),
        ("{oops", "must be JSON"),
        ("[1, 2]", '"type"'),
        ("x" * 20000, "exceeds"),
        ('{"v": 1, "type": "dance"}', "unknown message type"),
        ('{"v": 2, "type": "ping"}', "bad ping message: v"),
        ('{"v": 1, "type": "ping", "extra": true}', "extra"),
    ],
)
async def test_bad_messages_are_dropped_with_a_reason(serializer, errors, data, reason):
    assert await serializer.deserialize(data) is None
    assert len(errors) == 1 and reason in errors[0]


async def test_audio_and_events_go_out(serializer):
    assert await serializer.serialize(OutputAudioRawFrame(b"\x01\x00", 24000, 1)) == b"\x01\x00"
    text = await serializer.serialize(OutputTransportMessageUrgentFrame(message={"type": "x"}))
    assert json.loads(text) == {"type": "x"}


def test_unsupported_rate_is_refused():
    with pytest.raises(WireFormatError, match="44100"):
        EcoWireSerializer(44100, None)
