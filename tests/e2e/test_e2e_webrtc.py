"""End to end: `eco1 serve` in its own process, real aiortc clients over loopback."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from pathlib import Path

import httpx
import numpy as np
import pytest

from evals.harness.server_process import ServerProcess, llama_cpp_server
from evals.harness.speech_samples import mentions, synthesize
from evals.harness.webrtc_client import TutorClient

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server():
    with ServerProcess() as process:
        yield process


@pytest.fixture(scope="module")
def question():
    return synthesize("What is photosynthesis?")


def sessions(base_url: str) -> int:
    return httpx.get(f"{base_url}/healthz", timeout=5).json()["sessions"]


async def wait_until(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.1)


async def test_spoken_question_gets_transcript_and_spoken_answer(server, question):
    client = TutorClient(server.base_url, server.token)
    await client.connect()
    try:
        speech_end = await client.say(question)
        heard = await client.wait_event("transcript", 30, role="user", final=True)
        assert mentions(heard["text"], "photosynthesis"), heard["text"]
        await client.wait_event("speaking", 60, role="tutor", speaking=True)
        await client.wait_audio_after(speech_end, 10)
        await client.wait_event("transcript", 30, role="tutor")
        action = await client.wait_event("action", 10)
        assert action["action"] in ("explain", "example", "check", "hint", "encourage",
                                    "pause", "summarise") and action["beliefs"]  # fmt: skip
        latency = await client.wait_event("latency", 10)
        assert {"asr_final", "llm_ttft", "commit_to_audio_ms", "v2v_ms"} <= set(latency["stages"])
        # what eco1 eval latency records per turn: the curriculum answered, so the
        # controller chose its words and no model ran
        taught = client.teaching_after(speech_end)
        assert taught == {"mode": "facet", "concept": "photosynthesis", "facet": "definition"}
        assert client.decision_after(speech_end)["tier"] == "facets"
        await asyncio.sleep(1.0)
        pcm = client.audio.pcm().astype(np.float64)
        assert np.sqrt(np.mean(pcm**2)) > 50, "received audio is silent"
    finally:
        await client.close()
    await wait_until(lambda: sessions(server.base_url) == 0, 30, "session teardown")
    turns = httpx.get(f"{server.base_url}/api/turns", headers=server.headers).json()
    assert turns and mentions(turns[-1]["text"], "photosynthesis")
    metrics = httpx.get(f"{server.base_url}/metrics").text
    assert 'eco1_stage_latency_ms_count{stage="v2v_ms"}' in metrics
    early_passes = [
        float(line.split()[-1]) for line in metrics.splitlines()
        if line.startswith("eco1_speculations_total") and 'stage="asr"' in line
    ]  # fmt: skip
    assert sum(early_passes) >= 1  # the streaming ASR's early final pass, counted at the end


async def test_barge_in_stops_the_tutor(server, question):
    client = TutorClient(server.base_url, server.token)
    await client.connect()
    try:
        await client.say(synthesize("Please explain how the water cycle works, step by step."))
        started = await client.wait_event("speaking", 60, role="tutor", speaking=True)
        await asyncio.sleep(1.0)
        interrupt_at = time.time()
        speech_end = await client.say(question)
        stopped = await client.wait_event(
            "speaking", 10, after=started["received_at"], role="tutor", speaking=False
        )
        # The tutor fell silent while the learner was still talking over it.
        assert stopped["received_at"] < speech_end + 0.5
        assert stopped["received_at"] - interrupt_at < 2.0
        # And the interruption became the next question.
        heard = await client.wait_event("transcript", 30, after=interrupt_at, role="user")
        assert mentions(heard["text"], "photosynthesis"), heard["text"]
    finally:
        await client.close()


async def test_a_backchannel_does_not_stop_the_tutor(server):
    client = TutorClient(server.base_url, server.token)
    await client.connect()
    try:
        await client.say(synthesize("Please explain how the water cycle works, step by step."))
        await client.wait_event("speaking", 60, role="tutor", speaking=True)
        turns = len(client.events_of("latency"))
        await asyncio.sleep(1.0)
        said_at = await client.say(synthesize("Uh-huh."))
        # The tutor goes on: audio after the backchannel, and no new learner turn.
        await client.wait_audio_after(said_at + 1.5, 15)
        await asyncio.sleep(2.0)
        assert len(client.events_of("latency")) == turns
    finally:
        await client.close()


async def test_a_question_with_a_pause_is_answered_whole(server):
    """'How do plants … make their food?' with a 0.7 s pause: the recogniser hears the first
    half as a question of its own ('How do you plant?') and the turn may end in the pause;
    then the rest is joined to it (a `continued` event), and either way the tutor's last
    turn asks the whole question."""
    client = TutorClient(server.base_url, server.token)
    await client.connect()
    try:
        pause = np.zeros(int(0.7 * 48000), np.int16)
        spoken = np.concatenate(
            [synthesize("How do plants"), pause, synthesize("make their food?")]
        )
        speech_end = await client.say(spoken)
        await client.wait_audio_after(speech_end, 60)
        await asyncio.sleep(1.0)
        joined = client.events_of("continued")
        heard = [e["text"] for e in client.events_of("transcript", role="user", final=True)]
        asked = joined[-1]["question"] if joined else " ".join(heard)
        assert mentions(asked, "plan") and mentions(asked, "food"), (asked, heard)
        if len(client.events_of("latency")) > 1:  # the turn ended in the pause
            assert joined, heard
    finally:
        await client.close()


async def test_client_vanishing_mid_answer_frees_the_session(server, question):
    leaver = TutorClient(server.base_url, server.token)
    await leaver.connect()
    await leaver.say(question)
    await leaver.wait_event("speaking", 60, role="tutor", speaking=True)
    await leaver.close()  # gone mid-answer, without a goodbye
    await wait_until(lambda: sessions(server.base_url) == 0, 30, "the session to be freed")

    stayer = TutorClient(server.base_url, server.token)
    await stayer.connect()
    try:
        speech_end = await stayer.say(question)
        await stayer.wait_event("transcript", 30, role="user", final=True)
        await stayer.wait_audio_after(speech_end, 60)
    finally:
        await stayer.close()
    assert server.alive(), "server died"


async def test_remote_openai_compatible_backend_answers_a_spoken_question(question):
    """The same service, its LLM served by llama.cpp's OpenAI-compatible server."""
    with llama_cpp_server("smollm2") as llm:
        flags = ["--llm-backend", "openai", "--llm-base-url", f"{llm.base_url}/v1"]
        with ServerProcess([*flags, "--llm-model", "smollm2"]) as tutor:
            assert httpx.get(f"{tutor.base_url}/healthz").json()["llm_backend"] == "openai"
            client = TutorClient(tutor.base_url, tutor.token)
            await client.connect()
            try:
                await client.say(question)
                await client.wait_event("transcript", 60, role="tutor")
                latency = await client.wait_event("latency", 30)
                assert "llm_ttft" in latency["stages"]
            finally:
                await client.close()


async def test_killed_client_is_detected_and_freed(server):
    """A client process killed mid-answer stops pinging; the liveness watchdog frees it."""
    learner = subprocess.Popen(
        [
            sys.executable,
            str(Path(__file__).with_name("vanishing_client.py")),
            server.base_url,
            server.token,
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        line = await asyncio.wait_for(asyncio.to_thread(learner.stdout.readline), 90)
        assert line.strip() == "TUTOR-SPEAKING"
        assert sessions(server.base_url) == 1
    finally:
        learner.kill()
        learner.wait()
    started = time.monotonic()
    # liveness_timeout_s is 5 s; without pings, ICE consent would take about 30 s.
    await wait_until(lambda: sessions(server.base_url) == 0, 15, "the dead peer's session")
    print(f"dead peer freed after {time.monotonic() - started:.1f} s")
    assert server.alive()


async def test_avatar_motion_streams_at_60hz_and_the_mouth_moves_with_speech(server, question):
    client = TutorClient(server.base_url, server.token)
    await client.connect()
    try:
        await asyncio.sleep(1.0)
        idle = list(client.motion)
        speech_end = await client.say(question)
        await client.wait_event("speaking", 60, role="tutor", speaking=True)
        await asyncio.sleep(3.0)
    finally:
        await client.close()
    # Idle: frames flow before anyone speaks, about 60 a second, blinking and swaying.
    assert len(idle) > 30 and all(f["v"] == 2 and len(f["bs"]) == 52 for f in idle)
    span = idle[-1]["t"] - idle[0]["t"]
    assert 50 <= (len(idle) - 1) / span <= 70
    assert len({tuple(f["head"]) for f in idle}) > 10
    states = {f["state"] for f in client.motion}
    assert {"listening", "speaking"} <= states
    assert any(f["gesture"] for f in client.motion if f["state"] == "speaking")
    jaw = [f["bs"][17] for f in client.motion if f["state"] == "speaking"]
    assert max(jaw) > 0.3, "the mouth never opened while the tutor spoke"
    assert min(jaw) < 0.1, "the mouth never closed while the tutor spoke"
    assert all(f["received_at"] > 0 for f in client.motion)
    assert speech_end
    # The server measured how soon each written audio chunk appeared in a motion frame.
    metrics = httpx.get(f"{server.base_url}/metrics").text
    count = next(
        line for line in metrics.splitlines() if line.startswith("eco1_motion_lag_ms_count")
    )
    assert float(count.split()[-1]) > 10


def _camera_frames():
    """The simulator's long take, scaled up to a webcam-like 192 px."""
    from perception.sim.clips import continuous_frames

    for frame, _audio, _behaviour in continuous_frames(seed=4, size=64):
        yield np.kron(frame, np.ones((3, 3, 1), dtype=np.uint8))


async def test_camera_frames_become_perception_events(server):
    from evals.harness.webrtc_client import CameraTrack

    client = TutorClient(
        server.base_url, server.token, camera=CameraTrack(_camera_frames(), fps=10)
    )
    await client.connect()
    try:
        await client.wait_event("perception", 20)
        await wait_until(
            lambda: any(e["video_steps"] >= 4 for e in client.events_of("perception")),
            30,
            "four encoded tubelet steps",
        )
        latest = client.events_of("perception")[-1]
        assert latest["face_present"] is False  # animals, not a learner's face
        assert latest["motion_energy"] > 0.0
        assert 0.0 <= latest["speaking_fraction"] <= 1.0 and latest["silence_s"] > 0.5
    finally:
        await client.close()
    await wait_until(lambda: sessions(server.base_url) == 0, 30, "session teardown")


def test_the_llm_reads_the_knowledge_base_ahead(server):
    server.wait_read_ahead(timeout=240)
    assert httpx.get(f"{server.base_url}/healthz", timeout=5).json()["llm_read_ahead"] == "done"
