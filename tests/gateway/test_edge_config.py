"""The edge's one definition of the routes: path normalisation for every input, every rendered nginx
configuration accepted by nginx itself, and docker-compose.yml starting the edge from it."""

from __future__ import annotations

import shlex
import subprocess
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.edge import routes
from services.edge.__main__ import nginx_binary
from services.edge.nginx import Layout, render
from services.gateway.config import Settings
from shared.cluster import LocalCluster, default_ports, parse_replicas

ROOT = Path(__file__).resolve().parents[2]
PIECES = st.sampled_from(
    ["a", "api", "analytics", "webhooks", "..", ".", "", "%2e", "%2E%2e", "%2f", ";", "%20", "é"]
)


@given(st.lists(PIECES, max_size=10))
def test_a_normalised_path_has_no_dot_segments_no_empty_segments_and_is_stable(pieces: list[str]) -> None:
    raw = "/" + "/".join(pieces)
    try:
        path = routes.normalise(raw)
    except routes.UnsafePath:
        # Only a climb above the root is refused among these pieces.
        depth = 0
        for piece in raw.replace("%2f", "/").split("/")[1:]:
            piece = piece.replace("%2e", ".").replace("%2E", ".")
            depth = depth - 1 if piece == ".." else depth + (piece not in ("", "."))
            if depth < 0:
                return
        raise
    segments = path.split("/")[1:]
    assert path.startswith("/") and "//" not in path
    assert not {".", ".."} & set(segments)
    assert routes.normalise(routes.encode(path)) == path  # what is sent on means the same


@given(st.binary(max_size=60))
def test_any_bytes_either_normalise_or_are_refused_as_unsafe(raw: bytes) -> None:
    try:
        path = routes.normalise(b"/" + raw)
    except routes.UnsafePath:
        return
    assert path.startswith("/") and "\x00" not in path


def test_public_and_service_rules() -> None:
    assert routes.is_public("/api/analytics/webhooks/abc/events")
    assert not routes.is_public("/api/analytics/integrations")
    assert routes.service_of("/api/pilots/pilots") == "pilots"
    assert routes.service_of("/api/pilots") is None and routes.service_of("/metrics") is None
    assert routes.is_upload("/api/analytics/rosters/import") and not routes.is_upload("/api/catalog/tools")


RATES = st.integers(min_value=1, max_value=100_000)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    api=RATES,
    webhook=RATES,
    address=RATES,
    burst=st.integers(min_value=0, max_value=100_000),
    body=st.integers(min_value=1024, max_value=2**34),
    timeout=st.floats(min_value=0.1, max_value=600, allow_nan=False),
    replicas=st.integers(min_value=1, max_value=4),
    proxies=st.lists(st.sampled_from(["10.0.0.0/8", "192.0.2.1", "2001:db8::/32"]), max_size=3),
)
def test_nginx_accepts_every_rendered_configuration(
    tmp_path: Path,
    api: int,
    webhook: int,
    address: int,
    burst: int,
    body: int,
    timeout: float,
    replicas: int,
    proxies: list[str],
) -> None:
    configured = Settings(
        api_rate_per_s=api,
        webhook_rate_per_s=webhook,
        address_rate_per_s=address,
        api_burst=burst,
        webhook_burst=burst,
        address_burst=burst,
        max_body_bytes=body,
        max_upload_bytes=body * 2,
        request_timeout_s=timeout,
        trusted_proxies=proxies,
    )
    upstreams = {
        name: [f"127.0.0.1:{9000 + i}" for i in range(replicas)] for name in (*routes.SERVICES, "gateway")
    }
    layout = Layout(listen="127.0.0.1:1", upstreams=upstreams, runtime_dir=str(tmp_path), error_log="stderr")
    conf = tmp_path / "nginx.conf"
    conf.write_text(render(configured, layout))
    check = subprocess.run(
        [nginx_binary(), "-t", "-q", "-p", str(tmp_path), "-c", str(conf)], capture_output=True, text=True
    )
    assert check.returncode == 0, check.stderr


def test_docker_compose_starts_the_edge_from_the_same_routes() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    edge = compose["services"]["edge"]
    command = edge["command"]
    assert command[:4] == ["python", "-m", "services.edge", "run"], shlex.join(command)
    upstreams = {command[i + 1].split("=")[0] for i, arg in enumerate(command) if arg == "--upstream"}
    assert upstreams == {*routes.SERVICES, "gateway"}
    assert edge["ports"] == ["${GATEWAY_PORT:-8000}:8000"]
    # The default stack (services in no profile; Grafana of the `observability` profile is on loopback).
    default = {name: service for name, service in compose["services"].items() if not service.get("profiles")}
    published = [name for name, service in default.items() if service.get("ports")]
    assert published == ["edge"]


def test_make_up_replicas_each_get_a_port_and_the_edge_balances_them() -> None:
    replicas = parse_replicas(["analytics=3", "catalog=2"])
    ports = default_ports(8000, replicas)
    assert ports["edge"] == 8000 and [ports[s] for s in ("catalog", "pilots", "analytics")] == [
        8001,
        8002,
        8003,
    ]
    assert ports["gateway"] == 8004 and len(set(ports.values())) == len(ports) == 8
    cluster = LocalCluster(database_url="postgresql://unused", kafka_bootstrap="unused", ports=ports)
    command = cluster.command("edge")
    upstreams = dict(command[i + 1].split("=") for i, arg in enumerate(command) if arg == "--upstream")
    assert upstreams["analytics"].split(",") == [
        f"127.0.0.1:{ports[n]}" for n in ("analytics", "analytics-2", "analytics-3")
    ]
    assert upstreams["catalog"].split(",") == [f"127.0.0.1:{ports[n]}" for n in ("catalog", "catalog-2")]
    assert cluster.instances()[-2:] == ["gateway", "edge"]  # started last, stopped first
    for bad in (["billing=2"], ["analytics=0"], ["analytics"]):
        with pytest.raises(ValueError):
            parse_replicas(bad)
