"""One learner's spoken session over real WebRTC: several questions on one connection.

A fresh connection per question only ever measures a session's first turn; what a tutor
carries from turn to turn (the conversation in the prompt, the planner's state, caches) shows
from the second on. Shared by `eco1 eval latency` (its session phase) and `eco1 eval
live-sessions`.
"""

from __future__ import annotations

import asyncio
import random
from typing import Any

import numpy as np
from loguru import logger
from tqdm import tqdm

from evals.harness.speech_samples import mentions
from evals.harness.webrtc_client import TutorClient

# A spoken question and the words that show it was understood.
Question = tuple[np.ndarray, tuple[str, ...]]


async def spoken_session(
    base_url: str,
    token: str,
    questions: list[Question],
    seed: int,
    bar: tqdm | None = None,
    pause_s: tuple[float, float] = (0.2, 2.0),
) -> list[dict[str, Any]]:
    """Ask every question in order on one connection, each after the tutor stops speaking
    and a seeded random pause; one record per question.

    A record holds the turn's index, the server's stage times with `v2v_ms` taken on the
    client's clock (last speech sample to first audible answer sample), what the server heard
    and whether that was understood; a question with no answer in time is `{"failed": ...}`.
    """
    rng = random.Random(seed)
    client = TutorClient(base_url, token)
    await client.connect()
    records: list[dict[str, Any]] = []
    try:
        for turn, (pcm, expect) in enumerate(questions):
            await asyncio.sleep(rng.uniform(*pause_s))
            speech_end = await client.say(pcm)
            try:
                heard = await client.wait_event(
                    "transcript", 30, after=speech_end, role="user", final=True
                )
                first_audio = await client.wait_audio_after(speech_end, 60)
                latency = await client.wait_event("latency", 20, after=speech_end)
                await client.wait_event(
                    "speaking", 90, after=first_audio, role="tutor", speaking=False
                )
            except TimeoutError as exc:
                logger.warning("learner {} turn {}: {}", seed, turn, exc)
                records.append({"turn": turn, "failed": str(exc)})
            else:
                stages = dict(latency["stages"])
                stages["v2v_ms"] = (first_audio - speech_end) * 1000.0
                records.append({
                    "turn": turn,
                    "stages": stages,
                    "heard": heard["text"],
                    "understood": mentions(heard["text"], *expect),
                    "decision": client.decision_after(speech_end),
                    "teaching": client.teaching_after(speech_end),
                })  # fmt: skip
            if bar is not None:
                bar.update(1)
    finally:
        await client.close()
    return records


def answered(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The records of questions that got an answer."""
    return [record for record in records if "failed" not in record]
