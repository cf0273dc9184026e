"""Run the ASGI app under uvicorn with the project's logging."""

from __future__ import annotations

import secrets
import sys

import uvicorn
from loguru import logger

from agent.config import Settings
from agent.malloc_arenas import cap_malloc_arenas
from agent.server import create_app
from speech.assets import (
    ModelFileMissing,
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
    """Fail before binding a port if a model file is missing (raises ModelFileMissing)."""
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


def serve(settings: Settings) -> int:
    configure_logging(settings.log_level)
    if cap_malloc_arenas(settings.server.malloc_arenas):
        logger.info("malloc arenas capped at {}", settings.server.malloc_arenas)
    try:
        check_model_files(settings)
    except ModelFileMissing as exc:
        print(f"eco1: {exc}", file=sys.stderr)
        return 2
    if not settings.server.api_token and not settings.server.open_access:
        # The development default: a fresh token each start, printed in the URL to open.
        settings.server.api_token = secrets.token_urlsafe(24)
    shown_host = "localhost" if settings.host in ("0.0.0.0", "127.0.0.1") else settings.host
    url = f"http://{shown_host}:{settings.port}/"
    if not settings.server.open_access:
        url += f"?token={settings.server.api_token}"
    print(f"Eco-1 tutor (profile {settings.profile}) starting: open {url}")
    app = create_app(settings)
    # The command line is the composition root: the MCP endpoint (tools/) sits on the agent.
    from tools.mcp_http import add_mcp_endpoint

    add_mcp_endpoint(app, settings)
    uvicorn.run(app, host=settings.host, port=settings.port, log_level="warning")
    return 0
