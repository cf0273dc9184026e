"""Live sessions: one pipeline per WebRTC peer, torn down when the peer leaves."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from loguru import logger
from pipecat.frames.frames import OutputTransportMessageUrgentFrame
from pipecat.pipeline.runner import WorkerRunner
from pipecat.pipeline.worker import PipelineWorker
from pipecat.transports.smallwebrtc.connection import SmallWebRTCConnection

from agent.backends.base import ChatBackend
from agent.config import Settings
from agent.session.bounded_json import MAX_JSON_DEPTH, object_depth
from agent.session.client_events import ClientEventRelay, event, latency_event
from agent.session.client_messages import ClientMessageError, parse_client_message
from agent.session.jitter import set_audio_jitter_packets
from agent.session.latency import TurnLatencyObserver, TurnRecord
from agent.session.metrics import ServiceMetrics
from agent.session.pipeline import build_tutor_worker
from agent.session.store import SessionStore
from agent.session.transports import Connection, webrtc_connection
from agent.turn.compute import TurnCompute
from agent.turn.service import ContextProvider

# Builds one session's worker from its transport; the latency eval swaps in a stock pipeline.
WorkerBuilder = Callable[..., PipelineWorker]


class CapacityError(RuntimeError):
    """The server already runs its configured maximum of sessions."""


@dataclass
class Session:
    """A learner's connection, its pipeline worker and the task running it."""

    id: str
    connection: Connection
    worker: PipelineWorker
    backend: ChatBackend | None = None
    task: asyncio.Task | None = None
    turns: list[TurnRecord] = field(default_factory=list)
    last_ping: float | None = None  # monotonic time of the client's latest ping, if it pings
    connected: bool = False  # media flows (a WebRTC peer completed ICE and DTLS)
    started: float = field(default_factory=time.monotonic)
    speech_until: float = 0.0  # monotonic time by which speech queued by MCP `speak` is said


class SessionManager:
    """Creates, tracks and frees sessions; the server's only owner of pipelines."""

    @property
    def settings(self) -> Settings:
        return self._settings

    def __init__(
        self,
        settings: Settings,
        metrics: ServiceMetrics,
        backend_factory: Callable[[str | None], ChatBackend],
        build_worker: WorkerBuilder = build_tutor_worker,
        context_provider: ContextProvider | None = None,
        store: SessionStore | None = None,
        fault: Callable[[str], bool] | None = None,
        compute: Callable[[], TurnCompute | None] = lambda: None,
    ) -> None:
        self._settings = settings
        self._compute = compute
        self._fault = fault
        self._store = store
        self._context_provider = context_provider
        self._build_worker = build_worker
        self._metrics = metrics
        self._backend_factory = backend_factory
        self._sessions: dict[str, Session] = {}
        self._pending = 0

    @property
    def sessions(self) -> dict[str, Session]:
        return self._sessions

    @property
    def pending(self) -> int:
        """Slots held by offers still in their handshake."""
        return self._pending

    def reserve(self) -> None:
        """Claim a slot before the (slow) handshake; raises CapacityError if full."""
        if len(self._sessions) + self._pending >= self._settings.server.max_sessions:
            raise CapacityError(
                f"server is at its limit of {self._settings.server.max_sessions} sessions"
            )
        self._pending += 1

    def release_reservation(self) -> None:
        self._pending = max(0, self._pending - 1)

    async def start_webrtc(
        self,
        connection: SmallWebRTCConnection,
        learner: str | None = None,
        client: str | None = None,
    ) -> Session:
        """Build and launch the pipeline for a freshly negotiated WebRTC connection (its
        receivers exist, no packet has arrived yet)."""
        set_audio_jitter_packets(connection.pc, self._settings.server.audio_jitter_packets)
        return await self.start(webrtc_connection(connection, learner, client))

    async def start(self, connection: Connection) -> Session:
        """Build and launch the pipeline for a connected learner."""
        session_id, transport = connection.id, connection.transport
        # Off the loop: a learner's first personal session may load the personal model.
        backend: ChatBackend = await asyncio.to_thread(self._backend_factory, connection.learner)

        async def send_event(message: dict[str, Any]) -> None:
            if self._store is not None:  # stored before sent: what a client saw is on disk
                self._store.record(session_id, message)
            if message.get("type") == "fallback":
                self._metrics.fallbacks.labels(stage=message.get("stage", "?")).inc()
            await transport.output().queue_frame(OutputTransportMessageUrgentFrame(message=message))

        compute = await asyncio.to_thread(self._compute)  # the first call loads the index

        async def on_turn(record: TurnRecord) -> None:
            if compute is not None:
                compute.observe_latency(session_id, record.stages.get("commit_to_audio_ms"))
            session.turns.append(record)
            self._metrics.record_turn(record)
            await send_event(latency_event(record))

        # Building loads ONNX sessions (VAD, smart-turn): off the loop, so live sessions'
        # audio does not stall while a new learner joins.
        worker = await asyncio.to_thread(
            partial(
                self._build_worker,
                transport=transport,
                settings=self._settings,
                backend=backend,
                observers=[TurnLatencyObserver(session_id, on_turn), ClientEventRelay(send_event)],
                send_motion=connection.send_motion,
                on_motion_lag=self._metrics.motion_lag_ms.observe,
                context_provider=self._context_provider,
                fault=self._fault,
                compute=compute,
                session_id=session_id,
            )
        )
        session = Session(id=session_id, connection=connection, worker=worker, backend=backend)

        self._listen(session, send_event)
        if connection.gone():  # it closed while the pipeline was built: nothing to run
            await connection.close()
            raise RuntimeError("the peer left before its session started")
        if self._store is not None:
            self._store.session_started(session_id, type(transport).__name__)
        session.task = asyncio.create_task(self._run(session), name=f"session-{session_id}")
        self._sessions[session_id] = session
        self._metrics.sessions.inc()
        self._metrics.sessions_active.set(len(self._sessions))
        logger.bind(session=session_id).info("session started")
        return session

    def _listen(self, session: Session, send_event) -> None:
        """The transport's events for this session: the peer leaving ends it; its data
        messages are parsed (pings keep it alive, anything malformed is reported)."""
        connection, worker, session_id = session.connection, session.worker, session.id
        transport = connection.transport

        @transport.event_handler("on_client_disconnected")
        async def _on_disconnected(_transport, _client) -> None:
            logger.bind(session=session_id).info("peer left; ending session")
            await worker.cancel()

        async def reject(problem: str) -> None:
            self._metrics.client_messages_rejected.inc()
            await send_event(event("error", message=f"dropped a message: {problem}"))

        if connection.pings:
            connection.bad_message_sink = reject

            @transport.event_handler("on_app_message")
            async def _on_app_message(_transport, message, _sender) -> None:
                if object_depth(message) > MAX_JSON_DEPTH:
                    return  # reported as it arrived (transports.watch_data_channels)
                try:
                    parsed = parse_client_message(message)
                except ClientMessageError as exc:
                    await reject(str(exc))
                    return
                if parsed.type == "ping":
                    session.last_ping = time.monotonic()

            @transport.event_handler("on_client_connected")
            async def _on_connected(_transport, _client) -> None:
                session.connected = True
        else:
            session.connected = True

    async def _watch_liveness(self, session: Session) -> None:
        """End a session whose client pinged before but has gone quiet.

        A peer that vanishes without closing (lid shut, process killed) is otherwise only
        noticed by ICE consent checks, about 30 s later. Clients that never ping keep that.
        """
        timeout = self._settings.server.liveness_timeout_s
        connect_timeout = self._settings.server.connect_timeout_s
        while True:
            await asyncio.sleep(min(1.0, timeout / 4, connect_timeout / 4))
            if not session.connected and time.monotonic() - session.started > connect_timeout:
                logger.bind(session=session.id).warning(
                    "peer did not connect within {:.0f} s; ending session", connect_timeout
                )
                await session.worker.cancel()
                return
            if session.last_ping is not None and time.monotonic() - session.last_ping > timeout:
                logger.bind(session=session.id).warning(
                    "no ping for {:.0f} s; ending session", timeout
                )
                await session.worker.cancel()
                return

    async def _run(self, session: Session) -> None:
        watchdog = asyncio.create_task(self._watch_liveness(session))
        try:
            runner = WorkerRunner(handle_sigint=False, check_dangling_tasks=False)
            await runner.add_workers(session.worker)
            await runner.run()
        except Exception as exc:
            logger.bind(session=session.id).exception("session failed: {}", exc)
        finally:
            watchdog.cancel()
            await self._free(session)

    async def _free(self, session: Session) -> None:
        self._sessions.pop(session.id, None)
        self._metrics.record_speculations(session.worker.pipeline)
        if (compute := self._compute()) is not None:
            compute.forget(session.id)
        if self._store is not None:
            self._store.session_ended(session.id)
        self._metrics.sessions_active.set(len(self._sessions))
        try:
            await session.connection.close()
            if session.backend is not None:
                await session.backend.close()
        except Exception as exc:  # the peer may already be gone
            logger.bind(session=session.id).debug("cleanup after end: {}", exc)
        logger.bind(session=session.id).info("session freed")

    async def stop(self, session_id: str) -> bool:
        """End one session; False if no such session."""
        session = self._sessions.get(session_id)
        if session is None:
            return False
        await session.worker.cancel()
        if session.task:
            await asyncio.wait({session.task}, timeout=10)
        return True

    async def close_all(self) -> None:
        for session_id in list(self._sessions):
            await self.stop(session_id)
