"""The `eco1` command line: serve the tutor, run evaluations."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from agent.config import PROFILES, ConfigError, load_settings


def _add_settings_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", type=Path, help="TOML settings file (also ECO1_CONFIG)")
    parser.add_argument("--profile", choices=sorted(PROFILES), help="nano (CPU) or eco (GPU)")
    parser.add_argument(
        "--llm-backend",
        choices=["embedded", "openai"],
        help="embedded llama.cpp or a remote server",
    )
    parser.add_argument("--llm-base-url", help="OpenAI-compatible endpoint, e.g. vLLM's /v1 URL")
    parser.add_argument("--llm-model", help="model name the remote endpoint serves")


def _overrides(args: argparse.Namespace) -> dict:
    llm = {
        key: value
        for key, value in {
            "backend": args.llm_backend,
            "base_url": args.llm_base_url,
            "model": args.llm_model,
        }.items()
        if value is not None
    }
    top = {key: getattr(args, key, None) for key in ("host", "port", "log_level")}
    return {**{k: v for k, v in top.items() if v is not None}, **({"llm": llm} if llm else {})}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="eco1", description="Eco-1 real-time avatar tutor")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="start the tutor service (HTTP + WebRTC)")
    serve.add_argument("--host", help="address to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port to bind (default 7860)")
    serve.add_argument("--log-level", choices=["TRACE", "DEBUG", "INFO", "WARNING", "ERROR"])
    serve.add_argument(
        "--cluster", metavar="ADDRESS",
        help="serve on a Ray cluster: a session host per node behind front replicas "
        "(ADDRESS: a Ray head's host:port, or 'local' to start one here; docs/deploy.md)",
    )  # fmt: skip
    _add_settings_flags(serve)

    mcp = commands.add_parser("mcp", help="serve the tutor as MCP tools (stdio by default)")
    mcp.add_argument(
        "--http-port",
        type=int,
        help="serve streamable HTTP at http://127.0.0.1:PORT/mcp instead (loopback only, no token)",
    )
    _add_settings_flags(mcp)

    personalize = commands.add_parser(
        "personalize", help="make a learner's BitDelta and store it (docs/personalization.md)"
    )
    personalize.add_argument("learner", help="the learner's id (letters, digits, _ . @ -)")
    personalize.add_argument("--steps", type=int, default=60, help="fine-tuning steps")
    personalize.add_argument("--distill-steps", type=int, default=40, help="0 skips it")
    _add_settings_flags(personalize)

    train = commands.add_parser("train", help="train a model; see docs/training.md")
    models = train.add_subparsers(dest="model", required=True)
    _add_zjepa_flags(models.add_parser("zjepa", help="the z-JEPA world model on simulator clips"))

    evaluate = commands.add_parser("eval", help="run a benchmark; writes evals/results/")
    benches = evaluate.add_subparsers(dest="bench", required=True)
    from evals.registry import BENCHMARKS

    for benchmark in BENCHMARKS:
        bench = benchmark.add_to(benches)
        _add_settings_flags(bench)
    return parser


def _add_zjepa_flags(parser: argparse.ArgumentParser) -> None:
    from perception.train_config import TrainConfig

    defaults = TrainConfig()
    parser.add_argument(
        "--config",
        dest="zjepa_config",
        default=defaults.config,
        choices=["tiny", "tiny-moe", "small", "base", "large", "huge"],
    )
    for name in ("steps", "future_steps", "batch", "clips", "seed", "warmup", "checkpoint_every"):
        parser.add_argument(
            f"--{name.replace('_', '-')}", type=int, default=getattr(defaults, name)
        )
    for name in ("lr", "future_lr", "weight_decay", "ema_start", "ema_end"):
        parser.add_argument(
            f"--{name.replace('_', '-')}", type=float, default=getattr(defaults, name)
        )
    parser.add_argument(
        "--data", type=Path, default=defaults.data, help="dataset folder (made if missing)"
    )
    parser.add_argument(
        "--out", type=Path, default=defaults.out, help="run folder: checkpoints, curves"
    )
    parser.add_argument(
        "--export", type=Path, help="also write the small inference checkpoint here"
    )
    parser.add_argument("--resume", action="store_true", help="continue from OUT/last.safetensors")


def run_training(args: argparse.Namespace) -> int:
    from perception.train import TrainConfig, train  # torch loads only when training

    fields = {
        k: getattr(args, k) for k in vars(TrainConfig()) if k != "config" and hasattr(args, k)
    }
    losses = train(TrainConfig(config=args.zjepa_config, **fields))
    print(" ".join(f"{k}={v:.4f}" for k, v in losses.items()))
    return 0


def run_benchmark(args: argparse.Namespace, settings) -> int:
    """The benchmark's module is imported only when it runs (evals/registry.py)."""
    from evals.registry import BY_NAME

    return BY_NAME[args.bench].run(args, settings)


def run_personalize(args: argparse.Namespace, settings) -> int:
    from agent.personalization.backend import PersonalizationError, store_key
    from agent.personalization.enroll import enroll_learner
    from agent.personalization.store import DeltaStore, DeltaStoreError

    config = settings.personalization
    try:
        store = DeltaStore(config.store_dir, key=store_key(config.key_env))
        done = enroll_learner(
            store, args.learner, steps=args.steps, distill_steps=args.distill_steps
        )
    except (PersonalizationError, DeltaStoreError) as exc:
        print(f"eco1: {exc}", file=sys.stderr)
        return 2
    print(
        f"stored {done.bytes_stored} bytes for {done.learner} in {config.store_dir} "
        f"({done.seconds:.0f} s); serve with personalization.enabled = true and open the page "
        f"with ?learner={done.learner}"
    )
    return 0


def limit_native_threads(threads: int) -> None:
    """Cap the OpenMP threads of torch, CTranslate2 and friends before they are imported.

    Each library sizes its pool for the whole machine (CTranslate2 starts 4 per Whisper
    worker), so concurrent stages oversubscribe the cores; with one thread each, one
    session's median on this 2-core host went 713 → 469 ms VAD stop to transcript and
    1607 → 1412 ms commit to audio (8 turns each, docs/latency.md). An OMP_NUM_THREADS set
    by the operator wins; 0 leaves the libraries' defaults.
    """
    if threads > 0:
        os.environ.setdefault("OMP_NUM_THREADS", str(threads))


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "train":
        return run_training(args)
    try:
        settings = load_settings(args.config, _overrides(args), profile=args.profile)
    except ConfigError as exc:
        print(f"eco1: {exc}", file=sys.stderr)
        return 2
    if args.command == "serve":
        limit_native_threads(settings.server.native_threads)
        if args.cluster:  # only here is Ray imported
            from agent.cluster.launch import serve_cluster

            return serve_cluster(settings, args.cluster)
        from agent.edge.serve import serve

        return serve(settings)
    if args.command == "mcp":
        from agent.session.text_tutor import TextTutor
        from tools.mcp_server import build_mcp_server

        server = build_mcp_server(TextTutor(settings))
        if args.http_port is None:
            server.run("stdio")
        else:  # local agents and the conformance suite; never exposed beyond loopback
            server.run("streamable-http", host="127.0.0.1", port=args.http_port)
        return 0
    if args.command == "eval":
        return run_benchmark(args, settings)
    if args.command == "personalize":
        return run_personalize(args, settings)
    return 2


if __name__ == "__main__":
    sys.exit(main())
