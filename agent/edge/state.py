"""The parts every route of one app shares, built once by create_app."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from pipecat.transports.smallwebrtc.request_handler import SmallWebRTCRequestHandler

from agent.config import Settings
from agent.edge.admission import Admission
from agent.session.manager import SessionManager
from agent.session.metrics import ServiceMetrics
from agent.session.store import SessionStore


@dataclass
class EdgeState:
    settings: Settings
    metrics: ServiceMetrics
    manager: SessionManager
    store: SessionStore
    admission: Admission
    webrtc: SmallWebRTCRequestHandler
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    read_ahead: str = "off"  # the LLM's read-ahead of knowledge-base prompts
