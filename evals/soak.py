"""`eco1 eval soak`: resident memory over many sessions, with glibc's default malloc arenas and
with the server's default cap of two (server.malloc_arenas), side by side.

Each session's threads (LLM, perception, ONNX runtimes) can make glibc open a new malloc
arena (up to 8 per core); freed memory stays in its arena, so resident memory climbs until
every arena exists and then levels off. Capping the arenas tells that apart from a leak.
Writes evals/results/soak.json and soak.png.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from loguru import logger

from evals.harness.server_process import ServerProcess
from evals.harness.speech_samples import synthesize
from evals.reliability import QUESTIONS, soak_test

DESIGNS = {  # the server caps its arenas at server.malloc_arenas (2) unless told 0
    "glibc_default": {"ECO1_SERVER__MALLOC_ARENAS": "0"},
    "arenas_capped_2": {},
}


def run_soak_eval(out_dir: Path, sessions: int = 48) -> int:
    out_dir.mkdir(parents=True, exist_ok=True)
    pcm = synthesize(QUESTIONS[0])
    logs = out_dir / "soak_logs"
    logs.mkdir(exist_ok=True)

    async def main() -> dict:
        results = {}
        for name, env in DESIGNS.items():
            with ServerProcess(env=env, log_path=logs / f"{name}.log") as server:
                server.wait_read_ahead()  # its saved prompt states are not a leak
                results[name] = await soak_test(server, pcm, sessions)
        return results

    results = asyncio.run(main())
    (out_dir / "soak.json").write_text(json.dumps(results, indent=2) + "\n")
    plot(out_dir / "soak.png", results)
    logger.info("wrote {}", out_dir / "soak.json")
    growth = ("rss_growth_mb", "rss_growth_second_half_mb", "rss_growth_last_quarter_mb")
    print(json.dumps({name: {k: r[k] for k in growth} for name, r in results.items()}))
    return 0


def plot(path: Path, results: dict) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 3.6))
    for name, result in results.items():
        ax.plot(range(1, len(result["rss_mb_curve"]) + 1), result["rss_mb_curve"], label=name)
    ax.set_xlabel("sessions so far")
    ax.set_ylabel("server resident memory (MB)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
