"""The spoken sample of `eco1 eval tutoring`: curriculum questions said aloud over WebRTC.

Forty of the covered questions, spaced evenly through the list, are spoken by the packaged
Piper voice at three speeds in turn and sent, each on a fresh connection, to a running
`eco1 serve` (real WebRTC, streaming Whisper, the live turn). The answer the tutor gave (its
`teaching` event) is scored as the typed answer is; a question the typed turn answered right
and the spoken one did not is an error the voice path caused (mostly the ASR mishearing).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from loguru import logger
from tqdm import tqdm

from evals.harness.server_process import ServerProcess
from evals.harness.speech_samples import speak
from evals.harness.webrtc_client import TutorClient

SAMPLE = 40
SPEEDS = (1.0, 0.85, 1.15)


def spoken_sample(covered: list, size: int = SAMPLE) -> list:
    """`size` questions spread evenly over the covered list (its subjects come in blocks)."""
    step = max(1, len(covered) // size)
    return covered[::step][:size]


async def ask_aloud(base_url: str, token: str, question: str, speed: float) -> dict[str, Any]:
    """Say one question on a fresh connection: what the server heard and what it taught."""
    pcm = speak(question, "piper-joe", speed=speed, rate=48000)
    client = TutorClient(base_url, token)
    await client.connect()
    try:
        speech_end = await client.say(pcm)
        heard = await client.wait_event("transcript", 30, after=speech_end, role="user",
                                        final=True)  # fmt: skip
        taught = await client.wait_event("teaching", 30, after=speech_end)
        await client.wait_event("speaking", 90, after=speech_end, role="tutor", speaking=False)
        return {"heard": heard["text"], "answer": taught.get("main") or "",
                "mode": taught.get("mode"), "concept": taught.get("concept")}  # fmt: skip
    finally:
        await client.close()


async def _ask_all(server: ServerProcess, sample: list) -> list[dict[str, Any]]:
    rows = []
    for n, (question, must) in enumerate(tqdm(sample, desc="spoken questions", unit="q")):
        speed = SPEEDS[n % len(SPEEDS)]
        try:
            row = await ask_aloud(server.base_url, server.token, question, speed)
        except TimeoutError as exc:
            logger.warning("spoken question {!r}: {}", question, exc)
            row = {"heard": None, "answer": "", "mode": None, "failed": str(exc)}
        rows.append({"question": question, "speed": speed, "must": must, **row})
    return rows


def run_spoken(sample: list, typed: dict[str, str], verdict, logs: Path) -> dict[str, Any]:
    """The spoken sample's shares, and the errors the voice path added to the typed turn's.
    typed: each question's verdict when typed; verdict: the typed eval's scoring."""
    logs.mkdir(parents=True, exist_ok=True)
    with ServerProcess(log_path=logs / "tutoring_spoken.log") as server:
        rows = asyncio.run(_ask_all(server, sample))
    for row in rows:
        row["verdict"] = verdict(row["answer"], row.pop("must")) if row["answer"] else "failed"
        row["typed"] = typed.get(row["question"])
    n = max(1, len(rows))
    share = {k: round(sum(r["verdict"] == k for r in rows) / n, 4)
             for k in ("correct", "wrong", "abstained", "failed")}  # fmt: skip
    caused = [r for r in rows if r["typed"] == "correct" and r["verdict"] != "correct"]
    return {
        "n": len(rows),
        "voices": [f"piper-joe x{speed}" for speed in SPEEDS],
        **share,
        "typed_correct_of_these": round(sum(r["typed"] == "correct" for r in rows) / n, 4),
        "voice_path_errors": len(caused),
        "voice_path_error_examples": caused[:20],
    }
