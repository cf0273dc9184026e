"""A session host: today's whole tutor service, run by a Ray actor on one node.

The actor loads the models once (the app's warm-up) and serves the same HTTP app as
`eco1 serve`, on the node's own address, so a learner's media flows to this node directly
while the fronts relay only signalling. The fronts' address is trusted for
`X-Forwarded-For`, so admission still sees, and rate-limits, each learner by their own
address. The registry asks `report()` for the host's load; nothing else calls it.
"""

from __future__ import annotations

import asyncio
import logging
import time

import ray
import uvicorn

from agent.config import Settings
from agent.edge.mcp_auth import OFF as MCP_OFF

STARTUP_TIMEOUT_S = 600.0  # a cold node loads every model before it is ready


def quiet_library_logs() -> None:
    """Ray's workers log the standard library's INFO lines (each relayed request, each ICE
    check from aioice) through a rich handler, milliseconds apiece: warnings only."""
    for name in ("httpx", "aioice", "aiortc"):
        logging.getLogger(name).setLevel(logging.WARNING)


class SessionHost:
    """One node's tutor service; `start()` returns its URL once its models are warm."""

    def __init__(self, settings_json: str, host_id: str, trusted: list[str]) -> None:
        self.host_id = host_id
        self._settings = Settings.model_validate_json(settings_json)
        self._trusted = trusted
        self._server: uvicorn.Server | None = None
        self._serving: asyncio.Task | None = None
        self._app = None
        self.url = ""

    async def start(self) -> str:
        if self.url:  # found by name after `eco1 serve --cluster` was restarted
            return self.url
        from agent.edge.serve import check_model_files, configure_logging, service_app

        configure_logging(self._settings.log_level)
        quiet_library_logs()
        check_model_files(self._settings)
        address = ray.util.get_node_ip_address()
        self._app = service_app(self._settings)
        config = uvicorn.Config(
            self._app, host=address, port=self._settings.cluster.host_port, log_level="warning",
            proxy_headers=True, forwarded_allow_ips=self._trusted,
        )  # fmt: skip
        self._server = uvicorn.Server(config)
        self._serving = asyncio.get_running_loop().create_task(self._server.serve())
        await self._until_started()
        port = self._server.servers[0].sockets[0].getsockname()[1]
        self.url = f"http://{address}:{port}"
        return self.url

    async def _until_started(self) -> None:
        waited = 0.0
        while not self._server.started:
            if self._serving.done():  # the app failed to start: say why
                self._serving.result()
                raise RuntimeError("the session host's server stopped while starting")
            await asyncio.sleep(0.1)
            waited += 0.1
            if waited > STARTUP_TIMEOUT_S:
                raise TimeoutError(f"session host not ready after {STARTUP_TIMEOUT_S:.0f} s")

    async def report(self) -> dict:
        """Load and sessions, for the registry's routing."""
        ready = self._server is not None and self._server.started
        manager = self._app.state.sessions if self._app is not None else None
        ids = list(manager.sessions) if manager is not None else []
        return {
            "url": self.url, "ready": ready, "session_ids": ids,
            "sessions": len(ids) + (manager.pending if manager is not None else 0),
            "capacity": self._settings.server.max_sessions,
            "cpu_s": time.process_time(),  # every thread of the host: for `eco1 eval cluster`
        }  # fmt: skip

    def _mcp_server(self):
        """The host's own MCP server (tools/), None while MCP is off."""
        return getattr(self._app.state, "mcp_server", None) if self._app else None

    async def call_tool(self, name: str, arguments: dict) -> dict:
        """One of the host's MCP tools, for a front's MCP endpoint (agent/cluster/mcp_front.py):
        {"error": text} or {"structured": …, "text": …}, plain data that crosses Ray."""
        if (server := self._mcp_server()) is None:
            return {"error": MCP_OFF}
        try:
            result = await server.call_tool(name, arguments)
        except Exception as exc:  # ToolError and the SDK's wrappers: the caller's error text
            return {"error": str(exc)}
        text = " ".join(getattr(part, "text", "") for part in result.content or [])
        if result.is_error:
            return {"error": text}
        return {"structured": result.structured_content, "text": text}

    async def read_resource(self, uri: str) -> dict:
        """One of the host's MCP resources as text: {"error": …} or {"text": …}."""
        if (server := self._mcp_server()) is None:
            return {"error": MCP_OFF}
        try:
            parts = list(await server.read_resource(uri))
        except Exception as exc:  # not found, or the resource failed: the caller's error
            return {"error": str(exc)}
        return {"text": "".join(p.content if isinstance(p.content, str) else "" for p in parts)}

    async def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
            await asyncio.wait({self._serving}, timeout=15)
