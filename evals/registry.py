"""Every benchmark `eco1 eval` offers: its name, what it measures, its own options, and the
function that runs it, in one table the command line reads.

A benchmark's module is imported only when it runs (some load torch or start servers).
Each runner takes `out_dir=`, `settings=` when `settings` is set, and one keyword per option.
"""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Option:
    """One command-line option, passed to the runner as `keyword`."""

    flag: str
    keyword: str
    argparse: dict[str, Any]


@dataclass(frozen=True)
class Benchmark:
    name: str
    summary: str
    runner: str  # "module:function"
    options: tuple[Option, ...] = ()
    settings: bool = False  # the runner takes the service's Settings
    # keywords read from the settings (the live-sessions budget, say)
    from_settings: Callable[[Any], dict[str, Any]] | None = field(default=None, compare=False)

    def add_to(self, benches: argparse._SubParsersAction) -> argparse.ArgumentParser:
        parser = benches.add_parser(self.name, help=self.summary)
        parser.add_argument("--out", type=Path, default=Path("evals/results"), help="output folder")
        for option in self.options:
            parser.add_argument(option.flag, dest=option.keyword, **option.argparse)
        return parser

    def run(self, args: argparse.Namespace, settings) -> int:
        module, function = self.runner.split(":")
        runner = getattr(importlib.import_module(module), function)
        kwargs = {option.keyword: getattr(args, option.keyword) for option in self.options}
        if self.settings:
            kwargs["settings"] = settings
        if self.from_settings is not None:
            kwargs |= self.from_settings(settings)
        return runner(out_dir=args.out, **kwargs)


def _int(flag: str, keyword: str, default: int | None, text: str) -> Option:
    return Option(flag, keyword, {"type": int, "default": default, "help": text})


LIMIT = _int("--limit", "limit", None, "first N cases (a quick run)")

BENCHMARKS: tuple[Benchmark, ...] = (
    Benchmark(
        "latency",
        "WebRTC turns over loopback vs stock Pipecat",
        "evals.latency:run_latency_eval",
        (
            _int("--turns", "turns", 12, "first turns per pipeline (default 12)"),
            _int("--sessions", "sessions", 2, "sessions per pipeline (0 skips them)"),
            _int("--questions", "questions", 6, "questions per session (default 6)"),
        ),
        settings=True,
    ),
    Benchmark("motion", "lip-sync timing vs an amplitude baseline", "evals.motion:run_motion_eval"),
    Benchmark("asr", "WER and time of Whisper decoding settings", "evals.asr:run_asr_eval"),
    Benchmark(
        "asr-streaming",
        "streaming vs segmented recognition: WER and wait after the VAD stop",
        "evals.asr_streaming:run_asr_streaming_eval",
        (LIMIT,),
    ),
    Benchmark(
        "asr-threads",
        "one Whisper call's time and WER per CPU thread count",
        "evals.asr_threads:run_asr_threads_eval",
    ),
    Benchmark(
        "tts-threads",
        "Piper's first clause per ONNX Runtime threading, alone and beside the LLM",
        "evals.tts_threads:run_tts_threads_eval",
    ),
    Benchmark(
        "prefix-cache",
        "LLM time to first token with its notes read or restored",
        "evals.prefix_cache:run_prefix_cache_eval",
    ),
    Benchmark(
        "retrieval",
        "the right note for covered questions, none for uncovered ones",
        "evals.retrieval:run_retrieval_eval",
    ),
    Benchmark(
        "llm-quant",
        "the embedded gguf per quantization: prompt/decode speed, perplexity",
        "evals.llm_quant:run_llm_quant_eval",
        settings=True,
    ),
    Benchmark(
        "mcp",
        "the official MCP conformance suite (needs npx)",
        "evals.mcp_conformance:run_mcp_eval",
    ),
    Benchmark(
        "planner", "EFE tutoring vs script, greedy and random", "evals.planner:run_planner_eval"
    ),
    Benchmark(
        "cluster",
        "the Ray scale-out: the front's signalling cost, failover, capacity per host",
        "evals.cluster:run_cluster_eval",
        (_int("--rounds", "rounds", 12, "offers each way (patches: 5x as many)"),),
        settings=True,
    ),
    Benchmark(
        "container",
        "the Containerfile's image: built, started, a spoken WebRTC session inside it",
        "evals.container:run_container_eval",
        (
            Option("--engine", "engine", {"default": "podman", "help": "podman or docker"}),
            Option("--image", "image", {"default": "localhost/eco1:dev", "help": "image tag"}),
            Option("--build", "build", {"action": "store_true", "help": "build it first"}),
            Option("--base-image", "base_image", {"help": "a Debian 12 image to build on"}),
            Option(
                "--find-links",
                "find_links",
                {"type": Path, "help": "a folder of extra wheels, mounted for the build"},
            ),  # fmt: skip
            Option(
                "--ca-dir",
                "ca_dir",
                {"type": Path, "help": "a proxy's CA certificates, mounted for the build"},
            ),  # fmt: skip
            _int("--questions", "questions", 3, "spoken questions in the session"),
        ),
    ),
    Benchmark(
        "zjepa", "z-JEPA probes, future prediction and streaming cost", "evals.zjepa:run_zjepa_eval"
    ),
    Benchmark(
        "bitdelta",
        "1-bit per-user deltas on SmolLM2-135M and the z-JEPA predictor",
        "evals.bitdelta:run_bitdelta_eval",
    ),
    Benchmark(
        "reliability",
        "load, injected faults, soak, fuzzing and a SIGKILL on real servers",
        "evals.reliability:run_reliability_eval",
    ),
    Benchmark(
        "controller",
        "HLLM controller vs always/never thinking under rising load",
        "evals.controller:run_controller_eval",
        (
            Option(
                "--quick", "quick", {"action": "store_true", "help": "3 questions, 2 load levels"}
            ),
            Option(
                "--budget-ms",
                "budget_ms",
                {"type": float, "help": "commit_to_audio budget to hold"},
            ),
        ),
        settings=True,
    ),
    Benchmark(
        "sessions",
        "sessions held within budget with 1 vs 2 llama.cpp contexts",
        "evals.sessions:run_sessions_eval",
        settings=True,
    ),
    Benchmark(
        "live-sessions",
        "whole WebRTC sessions at once: one process vs a process per session",
        "evals.live_sessions:run_live_sessions_eval",
        (
            _int("--max-sessions", "max_sessions", 3, "most learners at once"),
            _int("--turns", "turns", 4, "questions per learner"),
        ),
        from_settings=lambda settings: {"budget_ms": settings.controller.budget_ms},
    ),
    Benchmark(
        "soak",
        "server memory over many sessions, glibc arenas default vs capped",
        "evals.soak:run_soak_eval",
        (_int("--sessions", "sessions", 48, "sessions per design (default 48)"),),
    ),
    Benchmark(
        "tutoring",
        "answers right, abstentions and follow-ups: curriculum turn vs model alone",
        "evals.tutoring:run_tutoring_eval",
        (
            _int("--limit", "limit", None, "first N covered questions (a quick run)"),
            Option(
                "--no-spoken",
                "spoken",
                {"action": "store_false", "help": "skip the 40 questions said aloud over WebRTC"},
            ),
        ),
        settings=True,
    ),
    Benchmark(
        "turn-taking",
        "end of turn, backchannels and barge-ins: Eco-1 vs stock Pipecat",
        "evals.turn_taking:run_turn_taking_eval",
        (LIMIT,),
    ),
)
BY_NAME = {benchmark.name: benchmark for benchmark in BENCHMARKS}
