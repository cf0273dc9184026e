"""Turn latencies read back from servers' logs: the `turn latency {...}` line each finished
turn writes (agent/session/metrics.py).

For a latency run that did not finish (a leased GPU's time ran out during the sessions, before
`eco1 eval latency` wrote its file) and for a live server without a /metrics scraper. The
stages are the server's own records; `vad` and `v2v_ms` are the server's clock, where the
latency eval measures them on its client, so compare those two only with other logs.

    python -m evals.harness.log_turns eco1=latency_logs/eco1.log \
        baseline=latency_logs/baseline.log --out evals/results/latency_gpu_cut.json
"""

from __future__ import annotations

import argparse
import ast
import json
import re
from pathlib import Path
from typing import Any

from agent.session.latency import STAGES
from evals.latency import ratios, stage_percentiles

# "20:00:04.038 INFO    SmallWebRTCConnection#0-849b… turn latency {'vad': 200.56, …}"
TURN_LINE = re.compile(
    r"^(?P<time>\S+)\s+INFO\s+(?P<session>\S+)\s+turn latency (?P<stages>\{.*\})"
)


def read_turns(path: Path) -> list[dict[str, Any]]:
    """Every turn the log records, in order, with its session and place in that session."""
    turns: list[dict[str, Any]] = []
    seen: dict[str, int] = {}
    for line in path.read_text(errors="replace").splitlines():
        match = TURN_LINE.match(line)
        if not match:
            continue
        session = match["session"]
        stages = ast.literal_eval(match["stages"])
        turns.append({"time": match["time"], "session": session, "turn": seen.get(session, 0),
                      "stages": {k: float(v) for k, v in stages.items()}})  # fmt: skip
        seen[session] = seen.get(session, 0) + 1
    return turns


def summarize_turns(turns: list[dict[str, Any]]) -> dict[str, Any]:
    present = {stage for turn in turns for stage in turn["stages"]}
    stages = [stage for stage in STAGES if stage in present] + sorted(present - set(STAGES))
    return {"turns": len(turns), "stages": stage_percentiles(turns, stages)}


def summarize_log(path: Path) -> dict[str, Any]:
    """Each session's first turn apart from its later ones, as the latency eval splits them."""
    turns = read_turns(path)
    return {
        "log": path.name,
        "first_turns": summarize_turns([t for t in turns if t["turn"] == 0]),
        "later_turns": summarize_turns([t for t in turns if t["turn"] > 0]),
        "per_turn": turns,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("logs", nargs="+", help="NAME=PATH of a server log (eco1=…, baseline=…)")
    parser.add_argument("--out", type=Path, help="also write the summary here as JSON")
    args = parser.parse_args(argv)
    result: dict[str, Any] = {}
    for item in args.logs:
        name, _, path = item.partition("=")
        if not path:
            parser.error(f"{item!r}: give NAME=PATH")
        result[name] = summarize_log(Path(path))
    if {"eco1", "baseline"} <= result.keys():
        result["ratio_p50_first_turns"] = ratios(
            result["eco1"]["first_turns"], result["baseline"]["first_turns"]
        )
    for name, block in result.items():
        if name.startswith("ratio"):
            continue
        for part in ("first_turns", "later_turns"):
            stages = block[part]["stages"]
            figures = ", ".join(f"{s} {v['p50']:.0f}/{v['p95']:.0f}" for s, v in stages.items())
            print(f"{name} {part} ({block[part]['turns']}), p50/p95 ms: {figures}")
    if args.out:
        args.out.write_text(json.dumps(result, indent=2, allow_nan=True) + "\n")
        print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
