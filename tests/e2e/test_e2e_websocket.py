"""A whole session over /ws, as a VR engine without WebRTC would hold it."""

from __future__ import annotations

import asyncio
import json
import time

import numpy as np
import pytest
import websockets

from evals.harness.server_process import ServerProcess
from evals.harness.speech_samples import mentions, synthesize

pytestmark = pytest.mark.slow
RATE = 16000
CHUNK = RATE // 50  # 20 ms


@pytest.fixture(scope="module")
def server():
    with ServerProcess() as process:
        yield process


class Received:
    def __init__(self) -> None:
        self.events: list[dict] = []
        self.motion: list[dict] = []
        self.audio: list[np.ndarray] = []

    async def read(self, ws) -> None:
        async for message in ws:
            if isinstance(message, bytes):
                self.audio.append(np.frombuffer(message, dtype=np.int16))
            else:
                parsed = json.loads(message)
                (self.motion if parsed["type"] == "motion" else self.events).append(parsed)

    def find(self, kind: str, **match) -> dict | None:
        return next(
            (
                e
                for e in self.events
                if e["type"] == kind and all(e.get(k) == v for k, v in match.items())
            ),
            None,
        )


async def stream(ws, pcm: np.ndarray, seconds_after: float) -> None:
    """Send pcm then silence in real-time 20 ms chunks."""
    silence = np.zeros(int(seconds_after * RATE), dtype=np.int16)
    audio = np.concatenate([pcm, silence])
    start = time.monotonic()
    for index in range(0, len(audio), CHUNK):
        await ws.send(audio[index : index + CHUNK].tobytes())
        await asyncio.sleep(max(0.0, start + (index + CHUNK) / RATE - time.monotonic()))


async def test_spoken_question_over_websocket_with_a_malformed_message_first(server):
    url = server.base_url.replace("http", "ws") + f"/ws?rate={RATE}&token={server.token}"
    received = Received()
    async with websockets.connect(url, max_size=2**22) as ws:
        reader = asyncio.create_task(received.read(ws))
        await ws.send(b"\x01\x02\x03")  # 3 bytes: not 16-bit PCM
        await ws.send("not json")
        await stream(ws, synthesize("What is photosynthesis?", RATE), seconds_after=1.0)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not (
            received.find("transcript", role="tutor") and received.find("latency")
        ):
            await stream(ws, np.zeros(0, dtype=np.int16), seconds_after=0.2)
        await asyncio.sleep(1.0)
        reader.cancel()
    errors = [e["message"] for e in received.events if e["type"] == "error"]
    assert any("16-bit PCM" in m for m in errors) and any("JSON" in m for m in errors)
    heard = received.find("transcript", role="user", final=True)
    # whisper tiny on a busy 2-core host has heard "follow synthesis"; the topic word is enough
    assert heard and mentions(heard["text"], "synthesis")
    assert received.find("transcript", role="tutor")
    pcm = np.concatenate(received.audio).astype(np.float64)
    assert np.sqrt(np.mean(pcm**2)) > 100, "the tutor's audio is silent"
    assert len(received.motion) > 60 and any(f["bs"][17] > 0.3 for f in received.motion)


async def test_unsupported_rate_is_refused_with_a_reason(server):
    url = server.base_url.replace("http", "ws") + f"/ws?rate=44100&token={server.token}"
    async with websockets.connect(url) as ws:
        message = json.loads(await ws.recv())
        assert message["type"] == "error" and "44100" in message["message"]
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await ws.recv()
    assert closed.value.rcvd.code == 1003
