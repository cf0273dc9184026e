"""`eco1 eval container`: the container image built from `Containerfile` and smoke-tested as
a learner meets it: the image starts, answers /healthz, and holds a spoken session over real
WebRTC (the learner's audio goes into the container, the tutor's answer comes back).

Works with podman or docker; the engine's own quirks on a host (runtime, cgroups, limits)
belong in its configuration, not here (docs/deploy.md says what this machine needed).
Writes evals/results/container.json.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import time
from pathlib import Path
from statistics import median
from typing import Any

from loguru import logger

from evals.harness.server_process import ServerProcess
from evals.harness.speech_samples import QUESTIONS, synthesize
from evals.harness.spoken_session import answered, spoken_session

CONTAINER = "eco1-smoke"


def engine_command(engine: str) -> str:
    found = shutil.which(engine)
    if found is None:
        raise SystemExit(f"{engine} is not installed (docs/deploy.md: 'A container image')")
    return found


def build_image(
    engine: str, image: str, base_image: str | None, find_links: Path | None, ca_dir: Path | None
) -> float:
    """Build `Containerfile` at the repository's root; the seconds it took."""
    command = [engine, "build", "-t", image, "-f", "Containerfile", "--network", "host"]
    if Path(engine).name == "podman":
        command += ["--format", "docker"]  # OCI images drop the HEALTHCHECK
    if base_image:
        command += ["--build-arg", f"BASE_IMAGE={base_image}"]
    if find_links:
        command += ["-v", f"{find_links}:{find_links}:ro"]
        command += ["--build-arg", f"PIP_FIND_LINKS={find_links}"]
    if ca_dir:
        command += ["-v", f"{ca_dir}:/usr/local/share/ca-certificates:ro"]
    started = time.monotonic()
    logger.info("building {} (llama-cpp-python compiles: minutes)", image)
    subprocess.run([*command, "."], check=True)
    return time.monotonic() - started


def image_facts(engine: str, image: str) -> dict[str, Any]:
    """The image's id, size and the engine's version, as the engine reports them."""
    inspect = subprocess.run(
        [engine, "image", "inspect", image], check=True, capture_output=True, text=True
    )
    facts = json.loads(inspect.stdout)[0]
    version = subprocess.run([engine, "--version"], capture_output=True, text=True).stdout
    return {
        "engine": version.strip(),
        "image": image,
        "image_id": facts["Id"][:12],
        "size_mb": round(facts["Size"] / 1e6),
        "created": facts.get("Created"),
    }


def container_server(engine: str, image: str, log_path: Path) -> ServerProcess:
    """`eco1 serve` inside the image, on the host's network (WebRTC's UDP ports are the
    host's), its token and port passed in the environment."""
    subprocess.run([engine, "rm", "-f", CONTAINER], capture_output=True)
    command = [
        engine, "run", "--rm", "--name", CONTAINER, "--network", "host",
        "-e", "ECO1_HOST=127.0.0.1", "-e", "ECO1_PORT={port}",
        "-e", "ECO1_SERVER__API_TOKEN", "-e", "ECO1_SERVER__OFFERS_PER_MINUTE", image,
    ]  # fmt: skip
    return ServerProcess(command=command, log_path=log_path, ready_timeout=300)


async def spoken_smoke(server: ServerProcess, questions: int) -> list[dict[str, Any]]:
    samples = [(synthesize(text), words) for text, words in QUESTIONS[:questions]]
    return await spoken_session(server.base_url, server.token, samples, seed=0)


def turn_row(record: dict[str, Any]) -> dict[str, Any]:
    if "failed" in record:
        return {"turn": record["turn"], "failed": record["failed"]}
    return {
        "turn": record["turn"],
        "heard": record["heard"],
        "v2v_ms": round(record["stages"]["v2v_ms"]),
    }


def run_container_eval(
    out_dir: Path,
    engine: str = "podman",
    image: str = "localhost/eco1:dev",
    build: bool = False,
    base_image: str | None = None,
    find_links: Path | None = None,
    ca_dir: Path | None = None,
    questions: int = 3,
) -> int:
    out_dir.mkdir(parents=True, exist_ok=True)
    engine = engine_command(engine)
    result: dict[str, Any] = {}
    if build:
        result["build_s"] = round(build_image(engine, image, base_image, find_links, ca_dir), 1)
    result |= image_facts(engine, image)
    logs = out_dir / "container_logs"
    logs.mkdir(exist_ok=True)
    started = time.monotonic()
    try:
        with container_server(engine, image, logs / "eco1.log") as server:
            result["start_to_healthy_s"] = round(time.monotonic() - started, 1)
            records = asyncio.run(spoken_smoke(server, questions))
    finally:
        subprocess.run([engine, "rm", "-f", CONTAINER], capture_output=True)
    done = answered(records)
    result |= {
        "questions": questions,
        "answered": len(done),
        "understood": sum(record["understood"] for record in done),
        "v2v_ms_median": round(median(r["stages"]["v2v_ms"] for r in done)) if done else None,
        "turns": [turn_row(record) for record in records],
    }
    (out_dir / "container.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k != "turns"}, indent=2))
    return 0 if len(done) == questions else 1
