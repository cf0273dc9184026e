"""The server's audio jitter buffer: as deep as configured, on audio receivers only."""

from __future__ import annotations

from aiortc import RTCPeerConnection
from aiortc.rtp import RtpPacket

from agent.session.jitter import _BUFFER_ATTRIBUTE, set_audio_jitter_packets


def packet(n: int) -> RtpPacket:
    made = RtpPacket(payload_type=111, sequence_number=n, timestamp=960 * n, payload=b"x")
    made._data = made.payload  # what the receiver's depacketizer sets before buffering
    return made


async def released_after(prefetch: int) -> int:
    """How many packets a buffer of this depth takes in before it releases the first."""
    pc = RTCPeerConnection()
    pc.addTransceiver("audio", direction="recvonly")
    pc.addTransceiver("video", direction="recvonly")  # aiortc needs the running loop
    assert set_audio_jitter_packets(pc, prefetch) == 1
    audio, video = (t.receiver for t in pc.getTransceivers())
    buffer = getattr(audio, _BUFFER_ATTRIBUTE)
    assert getattr(video, _BUFFER_ATTRIBUTE) is not buffer and buffer.capacity == 16
    await pc.close()
    for n in range(10):
        if buffer.add(packet(n))[1] is not None:
            return n + 1
    raise AssertionError("nothing released")


async def test_a_shallower_buffer_releases_the_learners_audio_sooner():
    assert await released_after(4) == 5  # aiortc's own: 80 ms held
    assert await released_after(2) == 3
    assert await released_after(1) == 2
