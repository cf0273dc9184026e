"""Run the ASGI app under uvicorn with the project's logging."""

from __future__ import annotations

import sys

import uvicorn
from loguru import logger

from agent.config import Settings
from agent.server import create_app


def configure_logging(level: str) -> None:
    logger.remove()
    logger.add(
        sys.stderr,
        level=level,
        format="{time:HH:mm:ss.SSS} {level: <7} {extra[session]: <12} {message}",
    )
    logger.configure(extra={"session": "-"})


def serve(settings: Settings) -> int:
    configure_logging(settings.log_level)
    shown_host = "localhost" if settings.host in ("0.0.0.0", "127.0.0.1") else settings.host
    print(
        f"Eco-1 tutor (profile {settings.profile}) starting: open http://{shown_host}:{settings.port}/"
    )
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_level="warning")
    return 0
