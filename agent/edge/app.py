"""The ASGI app: shared parts built once, the lifespan that warms and drains them, and the
routes (routes_status, routes_webrtc, routes_ws) mounted on top."""

from __future__ import annotations

import asyncio
import threading
from contextlib import AsyncExitStack, asynccontextmanager
from functools import partial

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from loguru import logger
from pipecat.transports.smallwebrtc.request_handler import SmallWebRTCRequestHandler

from agent.config import Settings
from agent.edge.admission import Admission
from agent.edge.ice import ice_servers
from agent.edge.loop_monitor import watch_event_loop, watch_thread_pool
from agent.edge.routes_status import WEB_DIR, session_routes, status_routes
from agent.edge.routes_webrtc import webrtc_routes
from agent.edge.routes_ws import websocket_routes
from agent.edge.startup import running, session_backend, turn_toolbox, warm_up_service
from agent.edge.state import EdgeState
from agent.session.manager import SessionManager, WorkerBuilder
from agent.session.metrics import ServiceMetrics
from agent.session.pipeline import build_tutor_worker
from agent.session.store import open_store
from agent.turn.assembly import HostCompute, read_ahead_knowledge_base
from agent.turn.faults import FaultInjector


def fault_injector(settings: Settings, metrics: ServiceMetrics) -> FaultInjector | None:
    """The configured fault injection (evals only), loudly, or None."""
    if not settings.server.faults:
        return None
    logger.warning("fault injection is ON: {}", settings.server.faults)
    return FaultInjector(
        settings.server.faults, on_fire=lambda k: metrics.faults_injected.labels(kind=k).inc()
    )


@asynccontextmanager
async def knowledge_read_ahead(edge: EdgeState, host_compute: HostCompute):
    """Reads the knowledge base's likely prompts into the LLM's cache in the background
    while the service runs; stops after the prompt it is reading at shutdown."""
    stop = threading.Event()
    reading = asyncio.create_task(asyncio.to_thread(
        read_ahead_knowledge_base, host_compute(), edge.settings.llm.system_prompt, stop
    ))  # fmt: skip
    edge.read_ahead = "running"

    def finished(task: asyncio.Task) -> None:
        edge.read_ahead = "failed" if task.cancelled() or task.exception() else "done"

    reading.add_done_callback(finished)
    try:
        yield
    finally:
        stop.set()
        await asyncio.wait({reading}, timeout=5)


def _services(settings: Settings, build_worker: WorkerBuilder):
    """The app's parts: metrics, the session store and manager, the host's turn compute,
    admission, WebRTC signalling and (when configured) the knowledge toolbox."""
    metrics = ServiceMetrics()
    toolbox = turn_toolbox(settings)
    store = open_store(settings.store.url, settings.server.db_path)
    host_compute = HostCompute(settings, lambda: len(manager.sessions), metrics)
    manager = SessionManager(
        settings,
        metrics,
        partial(session_backend, settings, metrics),
        build_worker=build_worker,
        context_provider=toolbox.context_for if toolbox else None,
        store=store,
        fault=fault_injector(settings, metrics),
        compute=host_compute,
    )
    edge = EdgeState(
        settings=settings, metrics=metrics, manager=manager, store=store,
        admission=Admission(settings, metrics, manager),
        webrtc=SmallWebRTCRequestHandler(ice_servers=ice_servers(settings)),
    )  # fmt: skip
    return edge, host_compute, toolbox


def create_app(
    settings: Settings, *, warm_up: bool = True, build_worker: WorkerBuilder = build_tutor_worker
) -> FastAPI:
    """Build the app; warm_up=False skips model preloading (signalling-only tests)."""
    edge, host_compute, toolbox = _services(settings, build_worker)
    metrics, manager, store = edge.metrics, edge.manager, edge.store

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        async with AsyncExitStack() as hooks:
            for hook in app.state.lifespan_hooks:  # e.g. the MCP session manager (tools/)
                await hooks.enter_async_context(hook())
            if warm_up:
                await warm_up_service(settings, host_compute)
            edge.ready.set()
            logger.info("eco1 ready on http://{}:{}/", settings.host, settings.port)
            monitors = [
                asyncio.create_task(watch_event_loop(metrics.loop_lag_ms)),
                asyncio.create_task(watch_thread_pool(metrics.pool_wait_ms)),
            ]
            async with AsyncExitStack() as background:
                if warm_up and settings.llm.read_ahead:
                    await background.enter_async_context(knowledge_read_ahead(edge, host_compute))
                yield
            for monitor in monitors:
                monitor.cancel()
            await manager.close_all()
            await edge.webrtc.close()
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
    app.mount("/static", StaticFiles(directory=WEB_DIR), name="static")
    for routes in (status_routes, session_routes, webrtc_routes, websocket_routes):
        app.include_router(routes(edge))
    return app
