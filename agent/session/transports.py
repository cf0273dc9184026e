"""The two ways a learner connects, each giving a transport, a motion sender and a closer."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from fastapi import WebSocket
from pipecat.frames.frames import OutputTransportMessageUrgentFrame
from pipecat.transports.base_transport import BaseTransport, TransportParams, VideoInSourceParams
from pipecat.transports.smallwebrtc.connection import SmallWebRTCConnection
from pipecat.transports.smallwebrtc.transport import SmallWebRTCTransport
from pipecat.transports.websocket.fastapi import FastAPIWebsocketParams, FastAPIWebsocketTransport

from agent.session.bounded_json import JSONInputError, loads_bounded
from agent.session.client_events import event
from agent.session.ws_serializer import EcoWireSerializer

TUTOR_AUDIO_RATE = 24000


@dataclass
class Connection:
    """What a session needs from how the learner connected."""

    id: str
    transport: BaseTransport
    send_motion: Callable[[dict[str, Any]], Awaitable[None]]
    close: Callable[[], Awaitable[None]]
    pings: bool  # whether liveness pings arrive as on_app_message
    learner: str | None = None  # who is learning, when the client says (personalization)
    kind: str = "webrtc"  # "webrtc" or "websocket": only a WebRTC session renegotiates
    client: str | None = None  # the address that opened it: only it may renegotiate
    # Told about data-channel messages that never reach on_app_message (not JSON, nested
    # too deeply): Pipecat drops those with a log line, the client would hear nothing.
    bad_message_sink: Callable[[str], Awaitable[None]] | None = None
    gone: Callable[[], bool] = lambda: False  # the peer left before its session started


def webrtc_connection(
    connection: SmallWebRTCConnection, learner: str | None = None, client: str | None = None
) -> Connection:
    """Mic (and camera) in, audio out at 24 kHz (Opus resamples to 48 kHz on the wire)."""
    params = TransportParams(
        audio_in_enabled=True,
        audio_out_enabled=True,
        audio_out_sample_rate=TUTOR_AUDIO_RATE,
        video_in_enabled=True,  # the camera, if the learner shares one, feeds perception
        # Passed on at up to 15 frames a second; perception samples its own rate from these.
        video_in_sources={"camera": VideoInSourceParams(framerate=15)},
    )
    transport = SmallWebRTCTransport(webrtc_connection=connection, params=params)
    # Motion goes on its own channel: unordered and never retransmitted, since a late
    # frame is worse than a lost one. The server opens it; the client gets "datachannel".
    channel = connection.pc.createDataChannel("motion", ordered=False, maxRetransmits=0)

    async def send_motion(frame: dict[str, Any]) -> None:
        if channel.readyState == "open":
            channel.send(json.dumps(frame, separators=(",", ":")))

    made = Connection(
        connection.pc_id, transport, send_motion, connection.disconnect, pings=True,
        learner=learner, kind="webrtc", client=client,
        gone=lambda: connection.pc.connectionState in ("closed", "failed"),
    )  # fmt: skip
    watch_data_channels(connection, made)
    return made


def watch_data_channels(connection: SmallWebRTCConnection, made: Connection) -> None:
    """Report client data-channel messages that Pipecat would drop without a word."""

    @connection.pc.on("datachannel")
    def _on_channel(channel) -> None:
        @channel.on("message")
        async def _on_message(message) -> None:
            if isinstance(message, str) and message.startswith("ping"):
                return  # Pipecat's own keep-alive
            try:
                loads_bounded(message)
                return  # Pipecat parses it and on_app_message validates it
            except JSONInputError as exc:
                if made.bad_message_sink is not None:
                    await made.bad_message_sink(str(exc))


def websocket_connection(
    websocket: WebSocket,
    session_id: str,
    input_rate: int,
    learner: str | None = None,
    on_reject: Callable[[], None] = lambda: None,
    client: str | None = None,
) -> Connection:
    """PCM and JSON over one WebSocket (see agent/session/ws_serializer.py)."""
    transport: FastAPIWebsocketTransport | None = None

    async def report_error(message: str) -> None:
        if transport is not None:
            frame = OutputTransportMessageUrgentFrame(message=event("error", message=message))
            await transport.output().queue_frame(frame)

    params = FastAPIWebsocketParams(
        audio_in_enabled=True,
        audio_in_sample_rate=input_rate,
        audio_out_enabled=True,
        audio_out_sample_rate=TUTOR_AUDIO_RATE,
        add_wav_header=False,
        serializer=EcoWireSerializer(input_rate, report_error, on_reject),
    )
    transport = FastAPIWebsocketTransport(websocket=websocket, params=params)

    async def send_motion(frame: dict[str, Any]) -> None:
        await transport.output().queue_frame(OutputTransportMessageUrgentFrame(message=frame))

    async def close() -> None:
        try:
            await websocket.close()
        except RuntimeError:  # already closed by the client
            pass

    return Connection(
        session_id, transport, send_motion, close, pings=False, learner=learner,
        kind="websocket", client=client,
    )  # fmt: skip
