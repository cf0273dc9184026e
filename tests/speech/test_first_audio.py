"""The first clause's priority: a bounded token window, the gate, and the TTS holding it."""

from __future__ import annotations

import asyncio
import time

from pipecat.frames.frames import (
    LLMFullResponseEndFrame,
    LLMFullResponseStartFrame,
    LLMTextFrame,
    TTSAudioRawFrame,
    TTSSpeakFrame,
)
from pipecat.tests.utils import run_test

from agent.backends.threaded import stream_from_thread
from speech.first_audio import FirstAudioGate
from speech.tts import AlignedPiperTTSService


async def test_a_paused_reader_pauses_the_producer_within_the_window():
    produced: list[int] = []

    def job(emit, stop):
        for n in range(10):
            if stop.is_set():
                return
            produced.append(n)
            emit(n)

    pieces = stream_from_thread(job, "test-window", "test job", window=2)
    assert await anext(pieces) == 0
    await asyncio.sleep(0.3)  # the reader pauses; the job may run two items ahead, no more
    assert len(produced) <= 4, produced
    assert [n async for n in pieces] == list(range(1, 10))


async def test_leaving_a_full_window_stops_the_producer():
    finished = asyncio.Event()
    loop = asyncio.get_running_loop()

    def job(emit, stop):
        try:
            for n in range(1000):
                if stop.is_set():
                    return
                emit(n)
        finally:
            loop.call_soon_threadsafe(finished.set)

    pieces = stream_from_thread(job, "test-leave", "test job", window=1)
    await anext(pieces)
    await pieces.aclose()  # a barge-in: the reader is gone while the job waits on the window
    await asyncio.wait_for(finished.wait(), 2.0)


async def test_the_gate_waits_while_held_and_never_past_its_limit():
    gate = FirstAudioGate(max_pause_s=0.2)
    started = time.perf_counter()
    await gate.wait()
    assert time.perf_counter() - started < 0.05 and gate.pauses == 0
    gate.hold()
    asyncio.get_running_loop().call_later(0.05, gate.release)
    started = time.perf_counter()
    await gate.wait()
    assert 0.03 < time.perf_counter() - started < 0.18
    gate.hold()  # nobody releases: the limit lets the answer go on
    started = time.perf_counter()
    await gate.wait()
    assert time.perf_counter() - started >= 0.18 and gate.pauses == 2


class RecordingGate(FirstAudioGate):
    def __init__(self) -> None:
        super().__init__()
        self.events: list[str] = []

    def hold(self) -> None:
        self.events.append("hold")
        super().hold()

    def release(self) -> None:
        if self.held:
            self.events.append("release")
        super().release()


async def test_tts_holds_the_gate_only_for_an_answers_first_clause():
    gate = RecordingGate()
    tts = AlignedPiperTTSService(first_audio=gate)
    down, _ = await run_test(
        tts,
        frames_to_send=[
            LLMFullResponseStartFrame(),
            LLMTextFrame("Gravity pulls things together, "),
            LLMTextFrame("and it keeps the moon near us. "),
            LLMFullResponseEndFrame(),
            TTSSpeakFrame("Hello again."),
        ],
        expected_down_frames=None,
    )
    assert any(isinstance(f, TTSAudioRawFrame) for f in down)
    assert gate.events == ["hold", "release"]  # the second clause and a spoken line: no hold
    assert not gate.held
