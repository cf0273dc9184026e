"""How much of the learner's audio the server holds before it hears it.

aiortc gives every audio receiver a jitter buffer that releases a 20 ms packet only once
four more have arrived (`prefetch=4`): 80 ms between the learner's voice reaching the
server and the VAD hearing it, on every turn and every barge-in, even on loopback or a
LAN where packets come in order. A browser's NetEQ adapts its delay to the network's
jitter (tens of ms on a LAN); aiortc's is fixed, so it is set here (`server.
audio_jitter_packets`), per connection, before the first packet arrives. A packet later
than the buffer's depth is dropped (a 20 ms gap the recogniser rides over).
"""

from __future__ import annotations

from aiortc import RTCPeerConnection
from aiortc.jitterbuffer import JitterBuffer

# aiortc keeps the receiver's buffer under its name-mangled private attribute.
_BUFFER_ATTRIBUTE = "_RTCRtpReceiver__jitter_buffer"


def set_audio_jitter_packets(pc: RTCPeerConnection, packets: int) -> int:
    """Give each audio receiver of `pc` a jitter buffer that prefetches `packets`; returns
    how many receivers were changed. Raises if aiortc no longer keeps the buffer where it
    did (an upgrade must not silently bring the 80 ms back)."""
    changed = 0
    for transceiver in pc.getTransceivers():
        if transceiver.kind != "audio":
            continue
        receiver = transceiver.receiver
        own = getattr(receiver, _BUFFER_ATTRIBUTE, None)
        if not isinstance(own, JitterBuffer):
            raise RuntimeError("aiortc's RTCRtpReceiver has no jitter buffer where expected")
        setattr(receiver, _BUFFER_ATTRIBUTE, JitterBuffer(own.capacity, prefetch=packets))
        changed += 1
    return changed
