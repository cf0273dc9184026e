"""`eco1 eval container`: what it asks of the engine (the real build and run are the eval's;
evals/results/container.json holds the last one, docs/deploy.md says how it was made)."""

from __future__ import annotations

from pathlib import Path

import pytest

from evals import container


def test_a_missing_engine_says_what_to_install():
    with pytest.raises(SystemExit, match="no-such-engine is not installed"):
        container.engine_command("no-such-engine")


def test_the_build_mounts_wheels_and_a_proxys_ca_and_keeps_the_healthcheck(monkeypatch):
    ran: list[list[str]] = []
    monkeypatch.setattr(container.subprocess, "run", lambda command, **_: ran.append(command))
    container.build_image(
        "/usr/bin/podman", "localhost/eco1:t", "localhost/debian:12", Path("/opt/wheels"),
        Path("/usr/local/share/ca-certificates"),
    )  # fmt: skip
    command = " ".join(ran[0])
    assert command.startswith("/usr/bin/podman build -t localhost/eco1:t -f Containerfile")
    assert "--format docker" in command  # OCI images drop the HEALTHCHECK
    assert "--build-arg BASE_IMAGE=localhost/debian:12" in command
    assert "-v /opt/wheels:/opt/wheels:ro --build-arg PIP_FIND_LINKS=/opt/wheels" in command
    assert "-v /usr/local/share/ca-certificates:/usr/local/share/ca-certificates:ro" in command
    assert ran[0][-1] == "."


def test_the_container_gets_the_token_and_port_from_the_harness(tmp_path, monkeypatch):
    monkeypatch.setattr(container.subprocess, "run", lambda *a, **k: None)
    server = container.container_server("docker", "eco1", tmp_path / "log")
    args = server._args
    assert args[:2] == ["docker", "run"] and args[-1] == "eco1"
    assert f"ECO1_PORT={server.port}" in args and "ECO1_SERVER__API_TOKEN" in args
    assert server._env["ECO1_SERVER__API_TOKEN"] == server.token  # passed through by name
