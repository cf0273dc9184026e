"""`eco1 eval latency`: real WebRTC turns over loopback, Eco-1 against stock Pipecat.

Both servers run at once, each in its own process, and turns alternate between them, so
load and noise on this shared machine hit both designs alike; compare them as a ratio.
In the first phase every turn is a fresh connection that asks one spoken question and waits
for the first audible answer sample: a session's first turn. In the second (`later_turns`),
each connection asks several questions in a row (each on another topic, the costliest change
for a prompt cache) and only the second question on counts: what a session carries from turn
to turn shows there. Stage times come from the server's turn records; `vad` and `v2v_ms` use
the client's own clock for the last speech sample (same host, same wall clock), and `v2v_ms`
ends when the first audible answer audio reaches the client.
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from loguru import logger
from tqdm import tqdm

from agent.config import Settings
from agent.controller.decision import ComputeDecision
from agent.session.latency import STAGES
from evals.harness.server_process import ServerProcess
from evals.harness.speech_samples import QUESTIONS, mentions, synthesize
from evals.harness.spoken_session import Question, answered, spoken_session
from evals.harness.webrtc_client import TutorClient

DESIGNS = ("eco1", "baseline")
# What latency.json keeps of each turn; `decision` is the controller's (thinking, critique),
# None for the stock pipeline, which has no controller.
FIRST_TURN_KEYS = ("heard", "first_clause", "stages", "decision", "teaching")
SESSION_TURN_KEYS = ("session", "turn", "heard", "stages", "decision", "teaching", "failed")


def percentiles(values: list[float]) -> dict[str, float]:
    if not values:
        return {"p50": float("nan"), "p95": float("nan")}
    array = np.asarray(values, dtype=float)
    return {
        "p50": round(float(np.percentile(array, 50)), 1),
        "p95": round(float(np.percentile(array, 95)), 1),
    }


async def one_turn(
    server: ServerProcess, pcm: np.ndarray, expect: tuple[str, ...]
) -> dict[str, Any]:
    """Ask one question on a fresh connection; return client-side marks and the transcript."""
    client = TutorClient(server.base_url, server.token)
    await client.connect()
    try:
        speech_end = await client.say(pcm)
        heard = await client.wait_event("transcript", 30, role="user", final=True)
        first_audio = await client.wait_audio_after(speech_end, 60)
        await client.wait_event("latency", 10)
        first_clause = await client.wait_event("transcript", 10, role="tutor")
        return {
            "first_clause": first_clause["text"],
            "speech_end": speech_end,
            "first_audio": first_audio,
            "heard": heard["text"],
            "understood": mentions(heard["text"], *expect),
            "decision": client.decision_after(speech_end),
            "teaching": client.teaching_after(speech_end),
        }
    finally:
        await client.close()


def server_turn(server: ServerProcess) -> dict[str, Any]:
    turns = httpx.get(
        f"{server.base_url}/api/turns", params={"limit": 1}, headers=server.headers, timeout=10
    ).json()
    return turns[-1]


def turn_stages(client_marks: dict[str, Any], record: dict[str, Any]) -> dict[str, float]:
    stages = dict(record["stages"])
    marks = record["marks"]
    if marks.get("vad_stopped"):
        stages["vad"] = (marks["vad_stopped"] - client_marks["speech_end"]) * 1000.0
    stages["v2v_ms"] = (client_marks["first_audio"] - client_marks["speech_end"]) * 1000.0
    return stages


def stage_percentiles(turns: list[dict[str, Any]], stages=STAGES) -> dict[str, dict]:
    """Each stage's p50/p95 over the turns that have it."""
    return {
        stage: percentiles([t["stages"][stage] for t in turns if stage in t["stages"]])
        for stage in stages
    }


def deliberated(turn: dict[str, Any]) -> bool:
    """Whether the controller gave the turn thinking or a critique round (either delays the
    first audio by design); a turn without a decision (the stock pipeline) did not."""
    decision = turn.get("decision")
    return decision is not None and ComputeDecision(**decision).deliberates


def summarize(turns: list[dict[str, Any]]) -> dict[str, Any]:
    """Turn count, how many were understood, how many the controller gave thinking or a
    critique, and each stage's p50/p95 over answered turns."""
    return {
        "turns": len(turns),
        "understood": sum(t["understood"] for t in turns),
        "deliberated": sum(deliberated(t) for t in turns),
        "stages": stage_percentiles(turns),
    }


def plot(result: dict[str, Any], path: Path) -> None:
    """Per-stage p50 bars with p95 whiskers, Eco-1 beside stock Pipecat: first turns, and
    later turns of whole sessions when the run had them."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    later = result.get("later_turns")
    panels = [("first turns", result, result["baseline"])]
    if later:
        panels.append(("later turns of a session", later["eco1"], later["baseline"]))
    stages = list(STAGES)
    x = np.arange(len(stages))
    fig, axes = plt.subplots(len(panels), 1, figsize=(10, 4.5 * len(panels)), squeeze=False)
    where = result["host"].get("gpu") or "CPU"
    for ax, (title, eco1, stock) in zip(axes[:, 0], panels, strict=True):
        for offset, (label, block) in zip(
            (-0.2, 0.2), (("Eco-1", eco1), ("stock Pipecat", stock)), strict=True
        ):
            p50 = [block["stages"][s]["p50"] for s in stages]
            p95 = [block["stages"][s]["p95"] for s in stages]
            bars = ax.bar(x + offset, p50, width=0.38, label=f"{label} p50")
            ax.errorbar(
                x + offset,
                p50,
                yerr=[np.zeros(len(stages)), np.subtract(p95, p50)],
                fmt="none",
                ecolor=bars.patches[0].get_facecolor(),
                capsize=4,
                alpha=0.7,
            )
        ax.set_xticks(x, stages, rotation=15)
        ax.set_ylabel("milliseconds (bar p50, whisker p95)")
        ax.set_title(f"Latency over loopback WebRTC, {title}: {eco1['turns']} turns each ({where})")
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


async def run_turns(
    servers: dict[str, ServerProcess], turns: int, samples: list[Question]
) -> dict[str, list[dict[str, Any]]]:
    """First turns: a fresh connection per question, designs alternating who goes first."""
    results: dict[str, list[dict[str, Any]]] = {design: [] for design in servers}
    failures: dict[str, int] = {design: 0 for design in servers}
    progress = tqdm(total=turns * len(servers), desc="latency turns", unit="turn")
    for index in range(turns):
        pcm, words = samples[index % len(samples)]
        order = DESIGNS if index % 2 == 0 else DESIGNS[::-1]  # alternate who goes first
        for design in order:
            try:
                marks = await one_turn(servers[design], pcm, words)
                record = server_turn(servers[design])
                results[design].append({**marks, "stages": turn_stages(marks, record)})
            except (TimeoutError, httpx.HTTPError) as exc:
                failures[design] += 1
                logger.warning("{} turn {} failed: {}", design, index, exc)
            progress.update(1)
            await asyncio.sleep(0.5)
    progress.close()
    for design, count in failures.items():
        if count:
            logger.warning("{}: {} of {} turns failed", design, count, turns)
    return results


async def run_sessions(
    servers: dict[str, ServerProcess], sessions: int, questions: int, samples: list[Question]
) -> dict[str, list[dict[str, Any]]]:
    """Sessions of `questions` questions on one connection, designs alternating; session i
    starts at question i, so sessions differ and both designs hear the same ones."""
    results: dict[str, list[dict[str, Any]]] = {design: [] for design in servers}
    progress = tqdm(total=sessions * questions * len(servers), desc="session turns", unit="turn")
    for index in range(sessions):
        asked = [samples[(index + turn) % len(samples)] for turn in range(questions)]
        for design in DESIGNS if index % 2 == 0 else DESIGNS[::-1]:
            server = servers[design]
            records = await spoken_session(
                server.base_url, server.token, asked, seed=index, bar=progress
            )
            results[design] += [{**record, "session": index} for record in records]
            await asyncio.sleep(0.5)
    progress.close()
    return results


def later_turns(records: list[dict[str, Any]]) -> dict[str, Any]:
    """Summary of the answered turns after each session's first, with the failed count."""
    later = [record for record in records if record["turn"] > 0]
    done = answered(later)
    return {**summarize(done), "failed": len(later) - len(done)}


def ratios(eco1: dict[str, Any], baseline: dict[str, Any]) -> dict[str, float]:
    """Eco-1's p50 over the stock pipeline's, per stage both measured."""
    stock = baseline["stages"]
    return {
        stage: round(eco1["stages"][stage]["p50"] / stock[stage]["p50"], 3)
        for stage in eco1["stages"]
        if stage in stock and stock[stage]["p50"] > 0  # NaN (no data) compares False
    }


def gpu_name(settings: Settings) -> str | None:
    """The GPU the LLM runs on (its layers offloaded and CUDA present), else None."""
    if settings.llm.backend != "embedded" or settings.llm.gpu_layers == 0:
        return None
    import torch

    return torch.cuda.get_device_name(0) if torch.cuda.is_available() else None


def placement(settings: Settings, gpu: str | None) -> dict[str, str]:
    """Where each model ran, so a GPU figure says which stages the GPU actually served."""
    return {
        "asr": settings.asr.device,
        "llm": "cuda" if gpu else "cpu",
        "tts": "cuda" if settings.tts.use_cuda else "cpu",
    }


def questions_with_notes(settings: Settings) -> list[str]:
    """The spoken questions the tutor is given a note for (the others get the bare prompt,
    which reads differently)."""
    from agent.turn.assembly import build_index

    if not settings.retrieval.enabled or settings.retrieval.k <= 0:
        return []
    retrieval = settings.retrieval
    index = build_index(retrieval)
    return [text for text, _ in QUESTIONS
            if index.search(text, retrieval.k, retrieval.min_score)]  # fmt: skip


def first_turns_result(
    settings: Settings, gpu: str | None, runs: dict[str, list[dict[str, Any]]], wall_s: float
) -> dict[str, Any]:
    """The file's first-turn part, complete on its own; `sessions_done` is False until the
    sessions' later turns are added."""
    result = summarize(runs["eco1"])
    result["baseline"] = summarize(runs["baseline"])
    result["ratio_p50"] = ratios(result, result["baseline"])
    result["questions_with_notes"] = questions_with_notes(settings)
    result["host"] = {"machine": platform.machine(), "cpus": os.cpu_count(), "gpu": gpu}
    result["placement"] = placement(settings, gpu)
    result["wall_s"] = round(wall_s, 1)
    result["per_turn"] = {
        design: [{key: turn.get(key) for key in FIRST_TURN_KEYS} for turn in turns]
        for design, turns in runs.items()
    }
    result["sessions_done"] = False
    return result


def add_sessions(
    result: dict[str, Any],
    in_sessions: dict[str, list[dict[str, Any]]],
    sessions: int,
    questions: int,
    wall_s: float,
) -> None:
    """Adds the later turns of the sessions (none when there were none to run)."""
    if sessions and questions > 1:
        later = {design: later_turns(records) for design, records in in_sessions.items()}
        result["later_turns"] = {
            "sessions": sessions,
            "questions_per_session": questions,
            **later,
            "ratio_p50": ratios(later["eco1"], later["baseline"]),
        }
    result["per_session_turn"] = {
        design: [{key: record.get(key) for key in SESSION_TURN_KEYS} for record in records]
        for design, records in in_sessions.items()
    }
    result["wall_s"] = round(wall_s, 1)
    result["sessions_done"] = True


def write_result(result: dict[str, Any], path: Path) -> None:
    path.write_text(json.dumps(result, indent=2, allow_nan=True) + "\n")
    plot(result, path.with_suffix(".png"))


def run_latency_eval(
    settings: Settings, *, turns: int, out_dir: Path, sessions: int = 2, questions: int = 6
) -> int:
    """Writes latency.json, or latency_gpu.json (device named) when the LLM is on a GPU.

    `turns` first turns per design, then `sessions` sessions of `questions` questions per
    design (0 sessions skips that phase). The first turns are written as soon as they are
    done, so a run cut short during the sessions (a leased GPU's time running out) still
    leaves them, marked `"sessions_done": false`.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    gpu = gpu_name(settings)
    path = out_dir / f"{'latency_gpu' if gpu else 'latency'}.json"
    flags = ["--profile", settings.profile, "--llm-backend", settings.llm.backend]
    logs = out_dir / "latency_logs"
    logs.mkdir(exist_ok=True)
    samples = [(synthesize(text), words) for text, words in QUESTIONS]
    with (
        ServerProcess(flags, log_path=logs / "eco1.log") as eco1,
        ServerProcess(
            module="evals.harness.stock_pipeline", log_path=logs / "baseline.log"
        ) as stock,
    ):
        eco1.wait_read_ahead()
        started = time.time()
        servers = {"eco1": eco1, "baseline": stock}
        runs = asyncio.run(run_turns(servers, turns, samples))
        result = first_turns_result(settings, gpu, runs, time.time() - started)
        if sessions:
            write_result(result, path)
            print(f"wrote the first turns to {path}; sessions next")
        in_sessions = asyncio.run(run_sessions(servers, sessions, questions, samples))
    add_sessions(result, in_sessions, sessions, questions, time.time() - started)
    write_result(result, path)
    print_summary(result)
    print(f"wrote {path} and {path.with_suffix('.png')}")
    return 0 if result["turns"] and result["baseline"]["turns"] else 1


def print_summary(result: dict[str, Any]) -> None:
    later = result.get("later_turns", {})
    blocks = [("eco1 first turns", result), ("baseline first turns", result["baseline"])]
    blocks += [(f"{design} later turns", later[design]) for design in DESIGNS if design in later]
    for label, block in blocks:
        summary = ", ".join(
            f"{s} p50 {v['p50']:.0f} p95 {v['p95']:.0f}" for s, v in block["stages"].items()
        )
        deliberated = block.get("deliberated", 0)
        print(f"{label}: {block['turns']} turns ({deliberated} deliberated); {summary}")
