"""Run the ASGI app under uvicorn with the project's logging."""

from __future__ import annotations

import secrets
import sys

import uvicorn
from loguru import logger

from agent.config import Settings
from agent.edge.app import create_app
from agent.edge.malloc_arenas import cap_malloc_arenas
from speech.assets import (
    piper_voice_file,
    require_file,
    smollm2_gguf,
    whisper_model_dir,
)


def _to_stderr(message: str) -> None:
    """Writes to whatever sys.stderr is now: a handler bound to the stream of the moment
    outlives it where stderr is swapped (pytest's capture), and then fails on every line."""
    sys.stderr.write(message)


def configure_logging(level: str) -> None:
    logger.remove()
    logger.add(
        _to_stderr,
        level=level,
        format="{time:HH:mm:ss.SSS} {level: <7} {extra[session]: <12} {message}",
    )
    logger.configure(extra={"session": "-"})


def check_model_files(settings: Settings) -> None:
    """Fail before binding a port if a model file is missing: ModelFileMissing, or
    perception's FaceCascadeMissing (both FileNotFoundError, each naming its fix)."""
    whisper_model_dir(settings.asr.model_path)
    piper_voice_file(settings.tts.voice_path)
    if settings.llm.backend == "embedded":
        smollm2_gguf(settings.llm.model_path)
    if settings.perception.enabled:
        from perception.checkpoint import DEFAULT_CHECKPOINT
        from perception.observations import face_cascade

        face_cascade()
        require_file(
            settings.perception.checkpoint or DEFAULT_CHECKPOINT,
            "z-JEPA checkpoint",
            "ECO1_PERCEPTION__CHECKPOINT (or ECO1_PERCEPTION__ENABLED=false)",
        )


def start_url(settings: Settings) -> str:
    """The URL to open; it shows the API token only when this start made one up.

    A token that came from the environment or a settings file is an operator's secret and
    stays out of the log; a generated one is the development default and must be shown.
    """
    shown_host = "localhost" if settings.host in ("0.0.0.0", "127.0.0.1") else settings.host
    url = f"http://{shown_host}:{settings.port}/"
    if settings.server.open_access:
        return url
    if not settings.server.api_token:
        settings.server.api_token = secrets.token_urlsafe(24)
        return f"{url}?token={settings.server.api_token}"
    return f"{url}?token=<server.api_token>"


def serve(settings: Settings) -> int:
    configure_logging(settings.log_level)
    if cap_malloc_arenas(settings.server.malloc_arenas):
        logger.info("malloc arenas capped at {}", settings.server.malloc_arenas)
    try:
        check_model_files(settings)
    except FileNotFoundError as exc:
        print(f"eco1: {exc}", file=sys.stderr)
        return 2
    print(f"Eco-1 tutor (profile {settings.profile}) starting: open {start_url(settings)}")
    uvicorn.run(service_app(settings), host=settings.host, port=settings.port, log_level="warning")
    return 0


def service_app(settings: Settings):
    """The tutor's whole app: the agent's routes with the MCP endpoint (tools/) on them."""
    # The command line is the composition root: the MCP endpoint (tools/) sits on the agent.
    from agent.edge.mcp_endpoint import add_mcp_endpoint

    app = create_app(settings)
    add_mcp_endpoint(app, settings)
    return app
