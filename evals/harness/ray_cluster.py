"""A Ray cluster of several raylets on this machine, for the cluster's tests and benchmark."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

OBJECT_STORE_BYTES = 80 * 2**20  # per raylet: the actors pass only small messages


@contextmanager
def local_ray_cluster(hosts: int = 2) -> Iterator[tuple[object, list]]:
    """A head (for the registry and fronts) and `hosts` nodes marked `eco1_host`, joined by
    this process; yields (the cluster, its host nodes) and shuts all of it down after."""
    import ray
    from ray.cluster_utils import Cluster

    from agent.cluster.registry import NAMESPACE

    nodes = Cluster(initialize_head=True, head_node_args={
        "num_cpus": 1, "include_dashboard": False, "object_store_memory": OBJECT_STORE_BYTES,
    })  # fmt: skip
    workers = [
        nodes.add_node(
            num_cpus=1, resources={"eco1_host": 1}, object_store_memory=OBJECT_STORE_BYTES
        )  # fmt: skip
        for _ in range(hosts)
    ]
    ray.init(address=nodes.address, namespace=NAMESPACE, logging_level="warning")
    try:
        yield nodes, workers
    finally:
        ray.shutdown()
        nodes.shutdown()


def node_of(workers: list, host_id: str):
    """The raylet a session host runs on (a host's id is its node id's first characters)."""
    return next(w for w in workers if w.node_id.startswith(host_id))
