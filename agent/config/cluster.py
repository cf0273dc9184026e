"""How `eco1 serve --cluster` spreads learners over session hosts (agent/cluster/)."""

from __future__ import annotations

from pydantic import Field

from agent.config.section import Section


class ClusterSettings(Section):
    """Front replicas, host health checks and placement on a Ray cluster."""

    fronts: int = Field(
        default=2, ge=1, le=64,
        description="front replicas (HTTP signalling and routing), on ports port, port+1, …",
    )  # fmt: skip
    host_resource: str = Field(
        default="eco1_host",
        description="Ray resource that marks the nodes to run a session host on; when no "
        "node declares it, every node with CPUs runs one",
    )
    host_port: int = Field(
        default=0, ge=0, le=65535,
        description="the HTTP port each session host binds on its node (0: any free one); "
        "fix it where a firewall lists the ports fronts may reach",
    )  # fmt: skip
    health_interval_s: float = Field(
        default=0.5, gt=0.0, le=60.0, description="how often the registry asks each host its load"
    )
    placement_view_s: float | None = Field(
        default=None,
        gt=0.0,
        le=600.0,
        description="how long a front places learners from its copy of the hosts' load before "
        "asking the registry again (default: health_interval_s); a host that has filled up "
        "meanwhile refuses with 503 and the front tries the next",
    )
    host_timeout_s: float = Field(
        default=2.0, gt=0.0, le=120.0,
        description="a host that has not answered for this long is dropped from the routing",
    )  # fmt: skip
    forward_timeout_s: float = Field(
        default=20.0, gt=0.0, le=300.0, description="the front's wait for a host's answer"
    )
