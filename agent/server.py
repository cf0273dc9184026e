"""The ASGI app: tutor page, WebRTC signalling, health and metrics, all on one port."""

from __future__ import annotations

import asyncio
import re
import threading
import uuid
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import asdict
from functools import partial
from pathlib import Path

from fastapi import FastAPI, HTTPException, Request, WebSocket
from fastapi.requests import HTTPConnection
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from loguru import logger
from pipecat.transports.smallwebrtc.request_handler import (
    IceCandidate,
    SmallWebRTCPatchRequest,
    SmallWebRTCRequest,
    SmallWebRTCRequestHandler,
)

from agent.client_events import event
from agent.config import Settings
from agent.controller.factory import HostCompute, read_ahead_knowledge_base
from agent.faults import FaultInjector
from agent.guards import RateLimiter, origin_allowed, presented_token, token_ok
from agent.llm.backend import ChatBackend, create_backend
from agent.loop_monitor import watch_event_loop
from agent.metrics import ServiceMetrics
from agent.pipeline import build_tutor_worker
from agent.sessions import CapacityError, SessionManager, WorkerBuilder
from agent.signalling import (
    LEARNER_ID,
    OfferBody,
    PatchBody,
    bad_request,
    check_sdp,
    parse,
    read_json,
)
from agent.store import SessionStore
from agent.transports import websocket_connection
from agent.ws_serializer import SUPPORTED_RATES
from avatar.blendshapes import ARKIT_BLENDSHAPES
from avatar.frames import MOTION_PROTOCOL_VERSION
from avatar.visemes import VISEMES
from tools.mcp_client import ToolSpec, TurnToolbox

WEB_DIR = Path(__file__).resolve().parent.parent / "avatar" / "web"


WARM_UP_CLAUSE = (
    "Photosynthesis is the process by which green plants, algae and some bacteria use the "
    "energy of sunlight to turn water and carbon dioxide into sugar and oxygen, which feeds "
    "almost every living thing on our planet"
)


def warm_up_models(settings: Settings) -> None:
    """Load ASR, turn models, TTS and the embedded LLM once, before the first learner arrives.

    Whisper's first call allocates its working buffers (~300 MB here) and takes longest, so
    one call on a second of silence happens here rather than in a learner's first turn.
    """
    import numpy as np

    from speech.asr import shared_whisper_model, transcribe
    from speech.assets import piper_voice_file, whisper_model_dir
    from speech.tts import shared_piper_voice
    from speech.turns import SharedSmartTurnAnalyzer, silero_vad

    whisper = shared_whisper_model(
        whisper_model_dir(settings.asr.model_path),
        settings.asr.device,
        settings.asr.compute_type,
        settings.asr.workers,
        settings.asr.cpu_threads,
    )
    second = np.zeros(16000, np.int16)
    transcribe(whisper, second, 1, settings.asr.no_speech_prob)  # the full-window fallback
    transcribe(whisper, second, 1, settings.asr.no_speech_prob, window_s=settings.asr.window_s)
    silero_vad(0.2, 0.2, 0.5)  # creates the process's shared VAD session
    SharedSmartTurnAnalyzer()  # and the smart-turn one
    tts = settings.tts
    voice = shared_piper_voice(piper_voice_file(tts.voice_path), tts.use_cuda, tts.piper_threads())
    # A long clause grows Piper's ONNX arena to its working size now: otherwise it grows in
    # 64-128 MB steps at the first long answers, which a memory soak reads as a leak.
    list(voice.synthesize(WARM_UP_CLAUSE))


def turn_toolbox(settings: Settings) -> TurnToolbox | None:
    """The external MCP tools the settings list, or None."""
    if not settings.tools.servers:
        return None
    specs = [
        ToolSpec(
            name=server.name,
            tool=server.tool,
            argument=server.argument,
            command=server.command,
            url=server.url,
            headers={"Authorization": f"Bearer {server.bearer_token}"}
            if server.bearer_token
            else {},
        )
        for server in settings.tools.servers
    ]
    return TurnToolbox(specs, settings.tools.turn_budget_s)


def session_backend(
    settings: Settings, metrics: ServiceMetrics, learner: str | None
) -> ChatBackend:
    """A learner with a stored delta gets their personal model; everyone else the default."""
    if learner is not None and settings.personalization.enabled:
        from agent.personalization.backend import PersonalizedBackend, SharedPersonalModel

        shared = SharedPersonalModel.shared(
            settings.personalization.store_dir, settings.personalization.key_env
        )
        shared.on_swap = metrics.personal_swap_ms.observe
        if shared.has(learner):
            return PersonalizedBackend(shared, learner)
    return create_backend(settings.llm)


def client_address(connection: HTTPConnection) -> str:
    return connection.client.host if connection.client else "?"


@asynccontextmanager
async def running(toolbox: TurnToolbox):
    await toolbox.start()
    try:
        yield toolbox
    finally:
        await toolbox.close()


def create_app(
    settings: Settings, *, warm_up: bool = True, build_worker: WorkerBuilder = build_tutor_worker
) -> FastAPI:
    """Build the app; warm_up=False skips model preloading (signalling-only tests)."""
    metrics = ServiceMetrics()
    toolbox = turn_toolbox(settings)
    store = SessionStore(settings.server.db_path)
    faults = None
    if settings.server.faults:
        logger.warning("fault injection is ON: {}", settings.server.faults)
        faults = FaultInjector(
            settings.server.faults, on_fire=lambda k: metrics.faults_injected.labels(kind=k).inc()
        )
    host_compute = HostCompute(settings, lambda: len(manager.sessions), metrics)
    manager = SessionManager(
        settings,
        metrics,
        partial(session_backend, settings, metrics),
        build_worker=build_worker,
        context_provider=toolbox.context_for if toolbox else None,
        store=store,
        fault=faults,
        compute=host_compute,
    )
    handler = SmallWebRTCRequestHandler(ice_servers=list(settings.server.ice_servers))
    ready = asyncio.Event()
    read_ahead = {"state": "off"}  # the LLM's read-ahead of knowledge-base prompts

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        async with AsyncExitStack() as stack:
            for hook in app.state.lifespan_hooks:  # e.g. the MCP session manager (tools/)
                await stack.enter_async_context(hook())
            async with _service_lifespan():
                yield

    @asynccontextmanager
    async def _service_lifespan():
        if warm_up:
            await asyncio.to_thread(warm_up_models, settings)
            await asyncio.to_thread(host_compute)  # knowledge base, controller, tiers
            if settings.personalization.enabled:
                from agent.personalization.backend import SharedPersonalModel

                personal = settings.personalization
                await asyncio.to_thread(
                    SharedPersonalModel.shared, personal.store_dir, personal.key_env
                )
            backend = create_backend(settings.llm)
            await backend.warm_up()
            await backend.close()
        ready.set()
        logger.info("eco1 ready on http://{}:{}/", settings.host, settings.port)
        monitor = asyncio.create_task(watch_event_loop(metrics.loop_lag_ms))
        stop_reading, reading = threading.Event(), None
        if warm_up and settings.llm.read_ahead:
            reading = asyncio.create_task(asyncio.to_thread(
                read_ahead_knowledge_base, host_compute(), settings.llm.system_prompt, stop_reading
            ))  # fmt: skip
            read_ahead["state"] = "running"
            reading.add_done_callback(lambda task: read_ahead.update(
                state="failed" if task.cancelled() or task.exception() else "done"
            ))  # fmt: skip
        yield
        stop_reading.set()
        if reading is not None:  # it stops after the prompt it is reading (~0.5 s)
            await asyncio.wait({reading}, timeout=5)
        monitor.cancel()
        await manager.close_all()
        await handler.close()
        store.close()

    # The API's own pages list every route and field: open only where everything is open.
    pages = settings.server.open_access
    app = FastAPI(
        title="Eco-1 tutor", version="0.1.0", lifespan=lifespan,
        docs_url="/docs" if pages else None, redoc_url="/redoc" if pages else None,
        openapi_url="/openapi.json" if pages else None,
    )  # fmt: skip
    app.state.settings = settings
    app.state.metrics = metrics
    app.state.sessions = manager
    app.state.host_compute = host_compute  # MCP's `ask` shares the sessions' turn logic
    app.state.lifespan_hooks = []
    if toolbox is not None:
        app.state.lifespan_hooks.append(partial(running, toolbox))

    api_token = None if settings.server.open_access else settings.server.api_token

    def authorize(connection: HTTPConnection) -> None:
        """401 unless the request carries the API token (when one is configured)."""
        if not token_ok(api_token, presented_token(connection.headers, connection.query_params)):
            metrics.offers_rejected.labels(reason="token").inc()
            raise HTTPException(
                status_code=401,
                detail="missing or wrong API token (Authorization: Bearer <token> or ?token=)",
                headers={"WWW-Authenticate": 'Bearer realm="eco1"'},
            )

    @app.get("/", include_in_schema=False)
    async def index() -> FileResponse:
        return FileResponse(WEB_DIR / "index.html")

    app.mount("/static", StaticFiles(directory=WEB_DIR), name="static")

    @app.get("/healthz")
    async def healthz() -> JSONResponse:
        body = {
            "status": "ok" if ready.is_set() else "starting",
            "sessions": len(manager.sessions),
            "max_sessions": settings.server.max_sessions,
            "profile": settings.profile,
            "llm_backend": settings.llm.backend,
            "llm_read_ahead": read_ahead["state"],
        }
        return JSONResponse(body, status_code=200 if ready.is_set() else 503)

    @app.get("/metrics", include_in_schema=False)
    async def prometheus() -> Response:
        return Response(metrics.render(), media_type="text/plain; version=0.0.4; charset=utf-8")

    @app.get("/api/avatar/schema")
    async def avatar_schema() -> dict:
        """Names behind the motion frames' arrays, in wire order (docs/protocol.md)."""
        return {
            "version": MOTION_PROTOCOL_VERSION,
            "visemes": list(VISEMES),
            "blendshapes": list(ARKIT_BLENDSHAPES),
        }

    @app.get("/api/sessions/{session_id}/events")
    async def session_events(
        session_id: str, request: Request, kind: str | None = None
    ) -> list[dict]:
        authorize(request)
        """Every event the session's learner was sent, from the durable store."""
        events = store.events(session_id, kind)
        if not events and session_id not in {s["id"] for s in store.sessions()}:
            raise HTTPException(status_code=404, detail=f"no session {session_id!r}")
        return events

    @app.get("/api/turns")
    async def recent_turns(request: Request, limit: int = 100) -> list[dict]:
        authorize(request)
        """The latest answered turns with their stage latencies (newest last)."""
        return [asdict(record) for record in list(metrics.recent_turns)[-max(1, limit) :]]

    limiter = RateLimiter(settings.server.offers_per_minute)

    def admit(origin: str | None, client: str) -> None:
        """Origin and rate checks before any work is done for a new session (or a
        renegotiation); each admission counts against the client's allowance."""
        if not origin_allowed(origin, settings.server.allowed_origins):
            metrics.offers_rejected.labels(reason="origin").inc()
            raise HTTPException(status_code=403, detail=f"origin {origin!r} is not allowed")
        wait = limiter.retry_after(client)
        if wait > 0:
            metrics.offers_rejected.labels(reason="rate").inc()
            raise HTTPException(
                status_code=429,
                detail=f"too many new sessions from {client}; retry in {wait:.0f} s",
                headers={"Retry-After": str(int(wait) + 1)},
            )

    def renegotiable(pc_id: str, client: str) -> None:
        """404 unless pc_id is a live WebRTC session opened from this client address.

        Anything else would reach Pipecat's handler as an unknown pc_id and start a new
        session past the capacity and rate checks (the admission bypass, issue #25).
        """
        session = manager.sessions.get(pc_id)
        connection = session.connection if session is not None else None
        if connection is None or connection.kind != "webrtc" or connection.client != client:
            metrics.offers_rejected.labels(reason="unknown_pc_id").inc()
            raise HTTPException(status_code=404, detail=f"no WebRTC session with pc_id {pc_id!r}")

    @app.post("/api/offer")
    async def offer(request: Request) -> dict:
        authorize(request)
        body = parse(OfferBody, await read_json(request, settings.server.max_sdp_bytes))
        check_sdp(body.sdp)
        client = client_address(request)
        if body.pc_id:
            renegotiable(body.pc_id, client)
        # Garbage was refused above, cheaply; a plausible offer costs a handshake.
        admit(request.headers.get("origin"), client)
        if not body.pc_id:
            try:
                manager.reserve()
            except CapacityError as exc:
                limiter.refund(client)  # refused before any work: it costs no allowance
                metrics.offers_rejected.labels(reason="capacity").inc()
                raise HTTPException(status_code=503, detail=str(exc)) from exc
        webrtc_request = SmallWebRTCRequest(
            sdp=body.sdp, type=body.type, pc_id=body.pc_id, restart_pc=body.restart_pc
        )
        start_failure: list[Exception] = []

        async def start_session(connection) -> None:
            # Pipecat's handler logs and swallows callback errors; keep ours to answer 500.
            try:
                if body.pc_id:  # never a new session from a renegotiation
                    raise RuntimeError(f"pc_id {body.pc_id!r} has no peer connection")
                await manager.start_webrtc(connection, body.learner, client)
            except Exception as exc:
                start_failure.append(exc)
                await connection.disconnect()

        try:
            answer = await handler.handle_web_request(webrtc_request, start_session)
        except Exception as exc:
            metrics.offers_rejected.labels(reason="negotiation").inc()
            raise bad_request(f"could not negotiate WebRTC from this offer: {exc}") from exc
        finally:
            if not body.pc_id:
                manager.release_reservation()
        if start_failure:
            metrics.offers_rejected.labels(reason="session_start").inc()
            logger.error("session start failed: {}", start_failure[0])
            raise HTTPException(
                status_code=500, detail=f"could not start a session: {start_failure[0]}"
            )
        return answer

    @app.patch("/api/offer")
    async def ice_candidates(request: Request) -> dict:
        authorize(request)
        body = parse(PatchBody, await read_json(request, settings.server.max_sdp_bytes))
        if body.pc_id not in manager.sessions:
            raise HTTPException(status_code=404, detail=f"no session with pc_id {body.pc_id!r}")
        patch = SmallWebRTCPatchRequest(
            pc_id=body.pc_id,
            candidates=[
                IceCandidate(c.candidate, c.sdp_mid or "0", c.sdp_mline_index or 0)
                for c in body.candidates
            ],
        )
        try:
            await handler.handle_patch_request(patch)
        except HTTPException:
            raise
        except Exception as exc:
            raise bad_request(f"invalid ICE candidate: {exc}") from exc
        return {"status": "ok"}

    async def refuse(websocket: WebSocket, message: str, code: int) -> None:
        await websocket.send_json(event("error", message=message))
        await websocket.close(code=code, reason=message[:120])

    @app.websocket("/ws")
    async def websocket_session(
        websocket: WebSocket, rate: str = "16000", learner: str | None = None
    ) -> None:
        """A whole session over one WebSocket: PCM audio both ways plus the JSON events.

        Checked in the order of the HTTP routes: token, then the client's own parameters,
        then origin and rate limit, then capacity; every refusal is an error event."""
        await websocket.accept()
        try:
            authorize(websocket)
        except HTTPException as refused:
            return await refuse(websocket, refused.detail, 1008)
        if learner is not None and not re.match(LEARNER_ID, learner):
            return await refuse(websocket, "learner must be 1-128 letters, digits or _ . @ -", 1003)
        if not rate.isdigit() or int(rate) not in SUPPORTED_RATES:
            message = f"rate {rate[:20]!r} Hz is not supported; use one of {SUPPORTED_RATES}"
            return await refuse(websocket, message, 1003)
        client = client_address(websocket)
        try:
            admit(websocket.headers.get("origin"), client)
        except HTTPException as refused:
            return await refuse(websocket, refused.detail, 1008)
        try:
            manager.reserve()
        except CapacityError as exc:
            limiter.refund(client)
            metrics.offers_rejected.labels(reason="capacity").inc()
            await websocket.send_json(event("error", message=str(exc)))
            await websocket.close(code=1013, reason="server full, try again later")
            return
        try:
            connection = websocket_connection(
                websocket, f"ws-{uuid.uuid4().hex[:16]}", int(rate), learner,
                on_reject=metrics.client_messages_rejected.inc, client=client,
            )  # fmt: skip
            session = await manager.start(connection)
        finally:
            manager.release_reservation()
        if session.task:  # keep the socket open for as long as the session runs
            await asyncio.wait({session.task})

    @app.delete("/api/sessions/{session_id}")
    async def end_session(session_id: str, request: Request) -> dict:
        authorize(request)
        if not await manager.stop(session_id):
            raise HTTPException(status_code=404, detail=f"no session {session_id!r}")
        return {"status": "ended"}

    return app
