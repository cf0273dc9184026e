"""`eco1 serve --cluster ADDRESS`: the registry, a session host per node, front replicas.

`ClusterService` keeps the layout true while it runs: a node that joins gets a host, a
front replica that dies is started again. The fronts run on the node that ran the command,
on ports `port`, `port + 1`, …; put a load balancer (or DNS) in front of them
(docs/deploy.md).
"""

from __future__ import annotations

import asyncio
import signal
import time
from typing import Any

import ray
import uvicorn
from loguru import logger
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

from agent.cluster.host import SessionHost, quiet_library_logs
from agent.cluster.registry import NAMESPACE, registry_actor
from agent.config import Settings

KEEP_INTERVAL_S = 2.0


class FrontServer:
    """One front replica: the front app under uvicorn, in a Ray actor."""

    def __init__(self, settings_json: str, port: int) -> None:
        self._settings = Settings.model_validate_json(settings_json)
        self._port = port
        self._server: uvicorn.Server | None = None

    async def start(self) -> str:
        from agent.cluster.front import create_front

        quiet_library_logs()
        from agent.cluster.registry import REGISTRY_NAME

        registry = ray.get_actor(REGISTRY_NAME, namespace=NAMESPACE)
        app = create_front(self._settings, registry)
        config = uvicorn.Config(app, host=self._settings.host, port=self._port,
                                log_level="warning")  # fmt: skip
        self._server = uvicorn.Server(config)
        serving = asyncio.get_running_loop().create_task(self._server.serve())
        while not self._server.started:
            if serving.done():
                serving.result()
                raise RuntimeError(f"front could not start on port {self._port}")
            await asyncio.sleep(0.05)
        return f"http://{self._settings.host}:{self._port}"

    async def alive(self) -> bool:
        return True


def eligible_nodes(resource: str) -> list[dict]:
    """Alive nodes that declare `resource`, or every alive node with CPUs when none does."""
    alive = [n for n in ray.nodes() if n.get("Alive")]
    marked = [n for n in alive if n.get("Resources", {}).get(resource)]
    return marked or [n for n in alive if n.get("Resources", {}).get("CPU")]


def pinned(node_id: str) -> NodeAffinitySchedulingStrategy:
    return NodeAffinitySchedulingStrategy(node_id=node_id, soft=False)


class ClusterService:
    """The registry, one session host per eligible node and the front replicas."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._json = settings.model_dump_json()
        self.registry: Any = None
        self.hosts: dict[str, Any] = {}  # node id -> SessionHost actor
        self.fronts: dict[int, Any] = {}  # port -> FrontServer actor
        self.front_urls: list[str] = []

    async def start(self) -> list[str]:
        self.registry = registry_actor(self.settings, ray.get_runtime_context().get_node_id())
        await self.keep()
        return self.front_urls

    async def keep(self) -> None:
        """One round: hosts on nodes that have none (or whose host the registry dropped),
        fronts that died started again."""
        await self._forget_dropped_hosts()
        nodes = eligible_nodes(self.settings.cluster.host_resource)
        trusted = sorted({n["NodeManagerAddress"] for n in ray.nodes() if n.get("Alive")})
        started = [self._start_host(n["NodeID"], trusted) for n in nodes
                   if n["NodeID"] not in self.hosts]  # fmt: skip
        await asyncio.gather(*started, self._keep_fronts())

    async def _forget_dropped_hosts(self) -> None:
        """A host the registry dropped (dead, or silent past its timeout) is ended, so a
        node that is still alive gets a fresh one; a live host the registry does not know
        (it was restarted, empty) is registered again."""
        dropped = set(await self.registry.dropped.remote())
        registered = {h["host_id"] for h in await self.registry.hosts.remote()}
        for node_id, actor in list(self.hosts.items()):
            host_id = node_id[:12]
            if host_id in dropped:
                logger.warning("session host {} left the routing; replacing it", host_id)
                ray.kill(actor)
                del self.hosts[node_id]
            elif host_id not in registered:
                await self._register(node_id, actor)

    async def _register(self, node_id: str, actor: Any) -> None:
        """Tell the registry of a host (starting it first if it is new); one that cannot
        start is forgotten, so its node gets a fresh one at the next round."""
        try:
            url = await actor.start.remote()  # its URL; a running host does not restart
        except ray.exceptions.RayError as exc:
            logger.error("session host on node {} failed to start: {}", node_id[:12], exc)
            self.hosts.pop(node_id, None)
            return
        capacity = self.settings.server.max_sessions
        await self.registry.register_host.remote(node_id[:12], actor, url, capacity)

    async def _start_host(self, node_id: str, trusted: list[str]) -> None:
        host_id = node_id[:12]
        actor = ray.remote(num_cpus=0)(SessionHost).options(
            name=f"eco1-host-{host_id}", namespace=NAMESPACE, get_if_exists=True,
            scheduling_strategy=pinned(node_id),
        ).remote(self._json, host_id, trusted)  # fmt: skip
        self.hosts[node_id] = actor
        await self._register(node_id, actor)

    async def _keep_fronts(self) -> None:
        here = ray.get_runtime_context().get_node_id()
        for i in range(self.settings.cluster.fronts):
            port = self.settings.port + i
            actor = self.fronts.get(port)
            if actor is not None:
                try:
                    await actor.alive.remote()
                    continue
                except ray.exceptions.RayActorError:
                    logger.warning("front on port {} died; starting it again", port)
            actor = ray.remote(num_cpus=0)(FrontServer).options(
                scheduling_strategy=pinned(here)
            ).remote(self._json, port)  # fmt: skip
            self.fronts[port] = actor
            url = await actor.start.remote()
            if url not in self.front_urls:
                self.front_urls.append(url)

    async def run_forever(self) -> None:
        while True:
            await asyncio.sleep(KEEP_INTERVAL_S)
            await self.keep()


def serve_cluster(settings: Settings, address: str) -> int:
    """Join the Ray cluster at `address` ("local" starts one on this machine) and serve
    until interrupted (Ctrl-C or SIGTERM); the fronts and hosts end with this process."""
    from agent.edge.serve import configure_logging, start_url

    configure_logging(settings.log_level)
    shown = start_url(settings)  # makes the token every front and host shares, if unset
    ray.init(address=None if address == "local" else address, namespace=NAMESPACE,
             logging_level="warning")  # fmt: skip
    signal.signal(signal.SIGTERM, _interrupt)  # after ray.init, which sets its own
    print(f"Eco-1 tutor on Ray at {address}: starting session hosts; then open {shown}")
    started = time.monotonic()
    try:
        asyncio.run(_start_and_run(ClusterService(settings)))
    except KeyboardInterrupt:
        logger.info("stopping after {:.0f} s", time.monotonic() - started)
    finally:
        ray.shutdown()
    return 0


def _interrupt(_signum, _frame) -> None:
    raise KeyboardInterrupt


async def _start_and_run(service: ClusterService) -> None:
    urls = await service.start()
    print(f"Eco-1 cluster: {len(service.hosts)} session host(s); fronts at {', '.join(urls)}",
          flush=True)  # fmt: skip
    await service.run_forever()
