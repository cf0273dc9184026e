"""`eco1 eval turn-taking`: when the tutor ends the learner's turn, and when it lets itself
be stopped, Eco-1 against stock Pipecat (Silero + smart-turn defaults) in one run.

Every case is spoken over real WebRTC on a fresh connection, in turn by the packaged Piper
voice at three speeds and two eSpeak NG voices (when installed), half of them over
background noise:

- complete questions, some phrased as requests with a flat ending: the end-of-turn delay
  (last speech sample to the turn's commit, the server's `vad` + `turn_end` stages) and
  late ends (over 1 s);
- questions with a mid-sentence pause or filler ("what is... um... the speed of light"):
  premature ends, a turn committed before the learner finished, and of those how many the
  tutor recovered (answered the two parts as one question: a `continued` event);
- trailing-off sentences ("I was wondering about the"): ended within 1 s counts as premature;
- backchannels and a cough while the tutor speaks: a false stop is a new learner turn, or
  the tutor's audio stopping for good;
- barge-ins while the tutor speaks: stop latency, from the barge-in's first voiced sample to
  the tutor's last audible frame.

Writes evals/results/turn_taking.json and .png.
"""

from __future__ import annotations

import asyncio
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from loguru import logger
from tqdm import tqdm

from evals.harness.plots import BarPanel, bar_panels, save_result
from evals.harness.server_process import ServerProcess
from evals.harness.speech_samples import ESPEAK_VOICES, speak
from evals.harness.webrtc_client import TutorClient
from evals.latency import percentiles

RATE = 48000
COMPLETE = [
    "What is photosynthesis?", "Why is the sky blue?", "How many bones are in the human body?",
    "What is Newton's first law?", "What force keeps the Moon in orbit around the Earth?",
    "Tell me what a food chain is.", "Explain how the heart pumps blood.",
    "What is a fraction?", "How do magnets work?", "What causes the seasons?",
    "I want to know what an atom is.", "Why do things float in water?",
    "What is the water cycle?",
    # last words that usually open a phrase (they once waited for the 3 s fallback)
    "Where does rain come from?", "What are clouds made of?", "What do you mean?",
]  # fmt: skip
PAUSED = [
    ("What is", "the speed of light?"), ("Why does the", "moon change shape?"),
    ("How do plants", "make their food?"), ("What happens when", "water boils?"),
    ("Can you tell me", "what gravity is?"), ("What is, um,", "a food web?"),
]  # fmt: skip
TRAILING = ["I was wondering about the", "So if the Moon is", "And what about the, um",
            "So what is the speed of"]  # fmt: skip
BACKCHANNELS = ["Uh-huh.", "Okay.", "Yeah.", "Mm-hmm.", None]  # None: a cough (noise burst)
BARGE_INS = ["Wait, what about the Moon?", "Stop, can you say that again?",
             "Hold on, why is that?", "No, I meant the Sun."]  # fmt: skip
LONG_QUESTION = "Please explain how the water cycle works, step by step."
PAUSE_S = 0.7  # the mid-sentence pause
LATE_S = 1.0
RECOVERY_S = 4.0  # after a premature end, how long the paused question's rest may take
LEAD_S = 0.3  # noise (or silence) before each utterance
STOP_GAP_S = 0.6  # tutor audio silent this long after a barge-in: it stopped
DESIGNS = {
    "eco1": {"args": [], "module": "agent.cli"},
    "stock": {"args": [], "module": "evals.harness.stock_pipeline"},
}


def voices() -> list[tuple[str, float]]:
    found = [("piper-joe", 1.0), ("piper-joe", 0.85), ("piper-joe", 1.15)]
    if shutil.which("espeak-ng"):
        found += [(name, 1.0) for name in ESPEAK_VOICES]
    return found


def with_noise(pcm: np.ndarray, snr_db: float | None, seed: int) -> np.ndarray:
    """Background noise (pink-ish) at `snr_db` under the speech, and 0.3 s of it before."""
    lead = np.zeros(int(LEAD_S * RATE), dtype=np.int16)
    pcm = np.concatenate([lead, pcm])
    if snr_db is None:
        return pcm
    rng = np.random.default_rng(seed)
    white = rng.normal(size=len(pcm))
    pink = np.convolve(white, np.ones(8) / 8, mode="same")  # less hiss than white noise
    speech_power = np.mean(pcm.astype(np.float64) ** 2)
    noise = pink * np.sqrt(speech_power / (10 ** (snr_db / 10)) / np.mean(pink**2))
    return np.clip(pcm + noise, -32768, 32767).astype(np.int16)


def cough(seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    burst = rng.normal(scale=6000, size=int(0.3 * RATE)) * np.hanning(int(0.3 * RATE))
    return burst.astype(np.int16)


def voiced_onset(pcm: np.ndarray) -> float:
    """Seconds into pcm of its first voiced 20 ms frame."""
    frame = RATE // 50
    for i in range(0, len(pcm) - frame, frame):
        if np.sqrt(np.mean(pcm[i : i + frame].astype(np.float64) ** 2)) > 500:
            return i / RATE
    return 0.0


@dataclass
class Case:
    kind: str  # complete, paused, trailing, backchannel, barge_in
    text: str
    pcm: np.ndarray
    voice: str
    onset_s: float = 0.0  # where the speech starts in pcm (found before noise is added)


def cases(limit: int | None = None) -> list[Case]:
    out: list[Case] = []
    found = voices()
    n = 0

    def add(kind: str, text: str, make) -> None:
        nonlocal n
        voice, speed = found[n % len(found)]
        snr = None if n % 2 == 0 else 20.0
        clean = make(voice, speed)
        out.append(Case(kind, text, with_noise(clean, snr, n),
                        f"{voice} x{speed}" + (" +noise" if snr else ""),
                        LEAD_S + voiced_onset(clean)))  # fmt: skip
        n += 1

    for _ in range(2):
        for text in COMPLETE:
            add("complete", text, lambda v, s, t=text: speak(t, v, s, RATE))
    for _ in range(3):
        for head, tail in PAUSED:
            add("paused", f"{head} ... {tail}", lambda v, s, h=head, t=tail: np.concatenate(
                [speak(h, v, s, RATE), np.zeros(int(PAUSE_S * RATE), np.int16),
                 speak(t, v, s, RATE)]))  # fmt: skip
    for _ in range(3):
        for text in TRAILING:
            add("trailing", text, lambda v, s, t=text: speak(t, v, s, RATE))
    for _ in range(3):
        for text in BACKCHANNELS:
            add("backchannel", text or "(cough)",
                lambda v, s, t=text, k=n: speak(t, v, s, RATE) if t else cough(k))  # fmt: skip
    for _ in range(3):
        for text in BARGE_INS:
            add("barge_in", text, lambda v, s, t=text: speak(t, v, s, RATE))
    return out[:: max(1, len(out) // limit)][:limit] if limit else out  # every kind, spaced


async def _turn_end(client: TutorClient, case: Case) -> dict[str, Any]:
    started = time.time()
    speech_end = await client.say(case.pcm)
    try:
        latency = await client.wait_event("latency", 10 if case.kind == "trailing" else 15,
                                          after=started)  # fmt: skip
    except TimeoutError:
        return {"ended": False}
    stages = latency.get("stages", {})
    delay = (stages.get("vad") or 0.0) + (stages.get("turn_end") or 0.0)
    committed = latency["received_at"]
    # what the recogniser had heard when the turn ended: why a turn ended early
    heard = [e.get("text", "") for e in client.events_of("transcript", role="user")
             if started <= e["received_at"] <= committed]  # fmt: skip
    row = {"ended": True, "delay_ms": delay, "heard": heard,
           "premature": committed < speech_end or (case.kind == "trailing" and delay < 1000),
           "late": delay > LATE_S * 1000}  # fmt: skip
    if row["premature"] and case.kind == "paused":
        row["recovered"] = await _went_on(client, committed)
    return row


async def _went_on(client: TutorClient, committed: float) -> bool:
    """Whether the tutor answered the paused question whole after all: the learner's words
    after the pause joined to the part it took for a turn (a `continued` event)."""
    try:
        await client.wait_event("continued", RECOVERY_S, after=committed)
    except TimeoutError:
        return False
    return True


async def _over_the_tutor(client: TutorClient, case: Case, long_question: np.ndarray) -> dict:
    await client.say(long_question)
    await client.wait_event("speaking", 60, role="tutor", speaking=True)
    await asyncio.sleep(1.0)
    turns = len(client.events_of("latency"))
    sent_at = time.time()
    await client.say(case.pcm)
    onset = sent_at + case.onset_s  # noise under the lead must not count as the voice
    await asyncio.sleep(3.0)
    new_turn = len(client.events_of("latency")) > turns
    stopped = client.audio.fell_silent_after(onset, STOP_GAP_S, time.time())
    heard = [e.get("text", "") for e in client.events_of("transcript", role="user")
             if e["received_at"] >= sent_at]  # fmt: skip
    if case.kind == "barge_in":
        stop_ms = None if stopped is None else max(0.0, (stopped - onset) * 1000)
        return {"stopped": new_turn, "stop_ms": stop_ms, "heard": heard}
    went_on = client.audio.first_audible_after(onset + 1.5) is not None
    return {"false_stop": new_turn or not went_on, "resumed": went_on and not new_turn,
            "heard": heard}  # fmt: skip


async def run_design(server: ServerProcess, all_cases: list[Case], name: str) -> list[dict]:
    long_question = with_noise(speak(LONG_QUESTION, "piper-joe", 1.0, RATE), None, 0)
    rows = []
    for case in tqdm(all_cases, desc=f"{name} turn-taking", unit="case"):
        client = TutorClient(server.base_url, server.token)
        await client.connect()
        try:
            if case.kind in ("backchannel", "barge_in"):
                row = await _over_the_tutor(client, case, long_question)
            else:
                row = await _turn_end(client, case)
        except TimeoutError as exc:
            logger.warning("{} {!r}: {}", name, case.text, exc)
            row = {"failed": str(exc)}
        finally:
            await client.close()
        rows.append({"kind": case.kind, "text": case.text, "voice": case.voice, **row})
    return rows


def share(rows: list[dict], kind: str, key: str) -> float | None:
    chosen = [r for r in rows if r["kind"] == kind and key in r]
    return round(sum(bool(r[key]) for r in chosen) / len(chosen), 3) if chosen else None


def summarize(rows: list[dict]) -> dict[str, Any]:
    ends = [r for r in rows if r["kind"] in ("complete", "paused", "trailing")]
    complete = [r["delay_ms"] for r in rows if r["kind"] == "complete" and r.get("ended")]
    stops = [r["stop_ms"] for r in rows if r["kind"] == "barge_in" and r.get("stop_ms") is not None]
    return {
        "premature_ends": round(sum(bool(r.get("premature")) for r in ends) / max(1, len(ends)), 3),
        "premature_pauses_recovered": share(rows, "paused", "recovered"),
        "late_ends": share(rows, "complete", "late"),
        "end_of_turn_delay_ms": percentiles(complete),
        "backchannel_false_stops": share(rows, "backchannel", "false_stop"),
        "false_interruption_resumes": share(rows, "backchannel", "resumed"),
        "barge_in_stopped": share(rows, "barge_in", "stopped"),
        "barge_in_stop_ms": percentiles(stops),
        "failed": sum("failed" in r for r in rows),
    }


def plot(result: dict[str, Any], path: Path) -> None:
    designs = list(DESIGNS)
    metric = result["designs"]
    bar_panels(
        path,
        [
            BarPanel("premature ends", {d: metric[d]["premature_ends"] for d in designs}),
            BarPanel(
                "end-of-turn delay p95 (ms)",
                {d: metric[d]["end_of_turn_delay_ms"]["p95"] for d in designs},
            ),
            BarPanel(
                "backchannel false stops",
                {d: metric[d]["backchannel_false_stops"] or 0 for d in designs},
            ),
            BarPanel(
                "barge-in stop p95 (ms)", {d: metric[d]["barge_in_stop_ms"]["p95"] for d in designs}
            ),
        ],  # fmt: skip
        f"eco1 eval turn-taking: {result['cases']} cases per design",
        width=14.0,
    )


def run_turn_taking_eval(out_dir: Path, limit: int | None = None) -> int:
    out_dir.mkdir(parents=True, exist_ok=True)
    all_cases = cases(limit)
    logs = out_dir / "logs"
    logs.mkdir(exist_ok=True)
    rows: dict[str, list[dict]] = {}
    for name, design in DESIGNS.items():
        with ServerProcess(module=design["module"], log_path=logs / f"turn_taking_{name}.log") as s:
            rows[name] = asyncio.run(run_design(s, all_cases, name))
    result = {
        "cases": len(all_cases),
        "by_kind": {
            k: sum(c.kind == k for c in all_cases)
            for k in ("complete", "paused", "trailing", "backchannel", "barge_in")
        },  # fmt: skip
        "voices": sorted({c.voice for c in all_cases}),
        "designs": {name: summarize(r) for name, r in rows.items()},
        "rows": rows,
    }
    save_result(out_dir, "turn_taking", result, plot, ("designs",))
    return 0
