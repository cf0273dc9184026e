"""Nothing a learner was sent is lost: SIGKILL the server mid-session, read the database."""

from __future__ import annotations

import pytest

from agent.store import SessionStore
from evals.server_process import ServerProcess
from evals.speech_samples import synthesize
from evals.webrtc_client import TutorClient

pytestmark = pytest.mark.slow


def test_store_round_trip(tmp_path):
    store = SessionStore(tmp_path / "db.sqlite3")
    store.session_started("s1", "SmallWebRTCTransport")
    store.record("s1", {"v": 1, "type": "transcript", "text": "hi"})
    store.session_ended("s1")
    store.close()
    again = SessionStore(tmp_path / "db.sqlite3")
    assert again.events("s1") == [{"v": 1, "type": "transcript", "text": "hi"}]
    assert again.sessions()[0]["ended_at"] is not None


async def test_everything_acknowledged_survives_sigkill(tmp_path):
    db = tmp_path / "eco1.sqlite3"
    server = ServerProcess(env={"ECO1_SERVER__DB_PATH": str(db)})
    with server:
        client = TutorClient(server.base_url)
        await client.connect()
        await client.say(synthesize("What is photosynthesis?"))
        await client.wait_event("latency", 60)
        await client.wait_event("transcript", 30, role="tutor")
        server.kill()  # mid-session: the tutor is still talking, nothing shuts down cleanly
        received = [
            {k: v for k, v in event.items() if k != "received_at"}
            for event in client.events
            if "v" in event  # Eco-1 protocol messages
        ]
        await client.close()
    stored = SessionStore(db).events(client.pc_id)
    kinds = {event["type"] for event in received}
    assert {"transcript", "action", "latency", "speaking"} <= kinds
    missing = [event for event in received if event not in stored]
    assert missing == [], f"{len(missing)} acknowledged events lost: {missing[:3]}"
