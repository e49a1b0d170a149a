"""The public edge is real nginx, configured from services/edge/routes.py, in front of the running
platform: routing, replicas, path normalisation, body caps, timeouts, unreachable services, rate
limits, correlation ids and its JSON access log.

Most tests go through the session cluster's edge (`make up`'s). Those that need other settings (low
rate limits, small caps, a service that never answers) run an edge of their own with
`python -m services.edge run`, as the cluster does, over the same services.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import socket
import ssl
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.demo import dev_headers
from services.edge import routes
from services.edge.__main__ import run_command
from shared.cluster import LocalCluster
from shared.testing import free_port, wait_for_port

PROBLEM = "application/problem+json"


@contextlib.contextmanager
def edge(
    workdir: Path, upstreams: Mapping[str, list[str]], env: Mapping[str, str] | None = None
) -> Iterator[tuple[str, Path]]:
    """An nginx edge of its own over `upstreams`; yields its URL and its access log."""
    port = free_port()
    runtime = workdir / f"edge-{port}"
    access = runtime / "access.log"
    command = run_command(
        listen=f"127.0.0.1:{port}",
        upstreams=upstreams,
        runtime_dir=runtime,
        access_log=access,
        error_log=str(workdir / "error.log"),
    )
    process = subprocess.Popen(command, env={**os.environ, **(env or {})}, start_new_session=True)
    try:
        wait_for_port("127.0.0.1", port)
        yield f"http://127.0.0.1:{port}", access
    finally:
        os.killpg(process.pid, 3)  # SIGQUIT: nginx's graceful stop
        process.wait(timeout=15)


def upstreams_of(cluster: LocalCluster, **override: list[str]) -> dict[str, list[str]]:
    """The cluster's instances as upstreams, some replaced."""
    servers = {
        name: [f"127.0.0.1:{cluster.ports[i]}" for i in cluster.instances(name)]
        for name in (*routes.SERVICES, "gateway")
    }
    return {**servers, **override}


def access_lines(log: Path) -> list[dict[str, object]]:
    """The edge's access log, one JSON document per line."""
    deadline = time.monotonic() + 5
    while not log.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    return [json.loads(line) for line in log.read_text().splitlines() if line.strip()]


async def test_routes_each_service_the_gateways_pages_and_nothing_else(gateway: httpx.AsyncClient) -> None:
    headers = await dev_headers(gateway, f"edge-{uuid.uuid4().hex[:8]}", "edtech")
    for path in ("/api/catalog/tools", "/api/pilots/pilots", "/api/analytics/integrations"):
        r = await gateway.get(path, headers=headers)
        assert r.status_code == 200, (path, r.text)
    assert (await gateway.get(routes.EDGE_HEALTH)).json() == {"status": "ok"}
    docs = await gateway.get("/docs")
    assert docs.status_code == 200 and "swagger-ui" in docs.text
    assert (await gateway.get("/openapi.json")).json()["paths"]
    for path in ("/metrics", "/health/../metrics", "/api/billing/things", "/nothing"):
        r = await gateway.get(path, headers=headers)
        assert r.status_code == 404, (path, r.status_code)
        assert r.headers["content-type"] == PROBLEM
        assert "http_requests_total" not in r.text


def raw_get(cluster: LocalCluster, path: str) -> tuple[int, bytes]:
    """GET `path` through the edge exactly as written (httpx would resolve dot segments itself, as
    an attacker's client does not); the status and the whole answer."""
    with socket.create_connection(("127.0.0.1", cluster.ports["edge"]), timeout=10) as sock:
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: edge\r\nConnection: close\r\n\r\n".encode())
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    return int(answer.split(b" ", 2)[1]), answer


ESCAPES = [
    "/api/analytics/webhooks/../metrics",
    "/api/analytics/webhooks/../../../metrics",
    "/api/analytics/webhooks/../../../health/ready",
    "/api/analytics/webhooks/%2e%2e/%2e%2e/%2e%2e/metrics",
    "/api/analytics/webhooks/%2E%2E/integrations",
    "/api/analytics/webhooks/..%2f..%2f..%2fmetrics",
    "/api/analytics/webhooks/..%2Fintegrations",
    "/api/analytics/webhooks/x/..%2F..%2Fintegrations",
    "/api/analytics/webhooks%2f..%2fintegrations",
    "/api/analytics/webhooks/%2e%2e%2fintegrations",
    "/api/analytics/webhooks/./../integrations",
    "/api/analytics/webhooks//..//integrations",
    "//api//analytics//webhooks//..//integrations",
    "/api/analytics/webhooks;/../integrations",
    "/api/analytics/webhooks/..;/integrations",
    "/api/analytics/webhooks/x/..;/..;/integrations",
    "/api/analytics/webhooks/x/;/../../integrations",
    "/api/analytics/webhooks/..",
    "/api/analytics/webhooks/%2e%2e",
]


@pytest.mark.parametrize("path", ESCAPES)
async def test_no_encoding_of_dot_segments_reaches_a_private_route_without_a_token(
    cluster: LocalCluster, path: str
) -> None:
    status, answer = raw_get(cluster, path)
    # No service's own /metrics or readiness (its database and bus) answers through the edge; the
    # gateway's own readiness (its database and the services) is public.
    assert b"http_requests_total" not in answer and b'"bus"' not in answer, (path, answer[:300])
    normalised = routes.normalise(path)
    # The edge decided as services/edge/routes.py (and so the embedded gateway) decides.
    if routes.service_of(normalised) is None:
        assert status == 404 or _gateway_page(normalised), (path, answer[:300])
    elif not routes.is_public(normalised):
        assert status == 401, (path, answer[:300])
    else:  # a webhook path without the integration's credentials: the service refuses it
        assert status in (401, 404, 405), (path, answer[:300])
    if status != 200:
        assert b"application/problem+json" in answer.lower()


NAMES = ["api", "analytics", "catalog", "webhooks", "integrations", "metrics", "health", "ready", "tools"]
TRICKS = ["..", ".", "%2e%2e", "%2E", "%2f", "..%2f", "%2e%2e%2f", ";", "..;", "x", "", "%41"]
SEGMENTS = st.sampled_from([*NAMES, *TRICKS])


def _gateway_page(path: str) -> bool:
    return path in routes.GATEWAY_EXACT or path.startswith(routes.GATEWAY_PREFIXES)


def _prefix_location(path: str) -> bool:
    """nginx redirects `/health` to `/health/` (301) where `/health/` is a prefix it routes."""
    prefixes = (*routes.GATEWAY_PREFIXES, *routes.PUBLIC_PREFIXES, *(f"/api/{s}/" for s in routes.SERVICES))
    return path + "/" in prefixes


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(segments=st.lists(SEGMENTS, min_size=1, max_size=8))
def test_the_edge_and_the_route_rules_agree_on_every_path(cluster: LocalCluster, segments: list[str]) -> None:
    path = "/" + "/".join(segments)
    status, answer = raw_get(cluster, path)
    try:
        normalised = routes.normalise(path)
    except routes.UnsafePath:
        assert status == 400, (path, answer[:300])
        return
    if normalised == "/":
        assert status == 302
    elif _prefix_location(normalised):
        assert status == 301
    elif _gateway_page(normalised):
        assert status in (200, 307, 404, 405), (path, normalised, answer[:300])  # 307: a trailing slash
    elif routes.service_of(normalised) is None:
        assert status == 404, (path, normalised, answer[:300])
    elif not routes.is_public(normalised):
        assert status == 401, (path, normalised, answer[:300])
    else:  # a webhook path without the integration's credentials: the service refuses it
        assert status in (401, 404, 405), (path, normalised, answer[:300])


async def test_a_token_reaches_the_route_the_normalised_path_names(gateway: httpx.AsyncClient) -> None:
    headers = await dev_headers(gateway, f"edge-{uuid.uuid4().hex[:8]}", "edtech")
    r = await gateway.get("/api/catalog/vendors/../tools", headers=headers)
    assert r.status_code == 200 and isinstance(r.json(), (list, dict))


async def test_two_replicas_of_a_service_share_its_requests(cluster: LocalCluster, tmp_path: Path) -> None:
    cluster.ports["analytics-2"] = free_port()
    cluster.start("analytics-2")
    try:
        cluster.wait_ready("analytics-2")
        with edge(tmp_path, upstreams_of(cluster)) as (url, access):
            async with httpx.AsyncClient(base_url=url, timeout=30) as client:
                headers = await dev_headers(client, f"edge-{uuid.uuid4().hex[:8]}", "edtech")
                answers = [
                    await client.get("/api/analytics/integrations", headers=headers) for _ in range(20)
                ]
                assert all(a.status_code == 200 for a in answers)
                cluster.stop("analytics-2")  # one replica gone: the other takes every request
                after = [await client.get("/api/analytics/integrations", headers=headers) for _ in range(6)]
            lines = [line for line in access_lines(access) if str(line["path"]).startswith("/api/analytics/")]
    finally:
        cluster.stop("analytics-2")
        cluster.ports.pop("analytics-2")
    used = {str(line["upstream"]) for line in lines[:20]}
    assert len(used) == 2 and f"127.0.0.1:{cluster.ports['analytics']}" in used, used
    assert all(a.status_code == 200 for a in after)


async def test_bodies_over_the_caps_are_413_and_uploads_have_their_own(
    cluster: LocalCluster, tmp_path: Path
) -> None:
    caps = {"GATEWAY_MAX_BODY_BYTES": "2048", "GATEWAY_MAX_UPLOAD_BYTES": "65536"}
    with edge(tmp_path, upstreams_of(cluster), caps) as (url, _):
        async with httpx.AsyncClient(base_url=url, timeout=30) as client:
            headers = await dev_headers(client, f"edge-{uuid.uuid4().hex[:8]}", "edtech")
            big = await client.post("/api/catalog/vendors", content=b"x" * 4096, headers=headers)
            hook = await client.post("/api/analytics/webhooks/abc/events", content=b"x" * 4096)
            upload = await client.post(
                "/api/analytics/rosters/import",
                content=b"x" * 4096,
                headers={**headers, "content-type": "text/plain"},
            )
            too_big_upload = await client.post(
                "/api/analytics/rosters/import", content=b"x" * 70000, headers=headers
            )
    for r in (big, hook, too_big_upload):
        assert r.status_code == 413, r.text
        assert r.headers["content-type"] == PROBLEM
        assert r.json()["status"] == 413 and r.json()["correlation_id"] == r.headers["x-correlation-id"]
    # Under the upload cap, the roster route reaches the service, which refuses a non-multipart body.
    assert upload.status_code == 415, upload.text


async def test_a_service_that_does_not_answer_is_504(cluster: LocalCluster, tmp_path: Path) -> None:
    silent = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []

    def accept() -> None:  # accepts connections and never answers
        with contextlib.suppress(OSError):
            while True:
                held.append(silent.accept()[0])

    threading.Thread(target=accept, daemon=True).start()
    silent_at = f"127.0.0.1:{silent.getsockname()[1]}"
    try:
        settings_env = {"GATEWAY_REQUEST_TIMEOUT_S": "1"}
        with edge(tmp_path, upstreams_of(cluster, pilots=[silent_at]), settings_env) as (url, _):
            async with httpx.AsyncClient(base_url=url, timeout=30) as client:
                headers = await dev_headers(client, f"edge-{uuid.uuid4().hex[:8]}", "edtech")
                slow = await client.get("/api/pilots/pilots", headers=headers)
                fine = await client.get("/api/catalog/tools", headers=headers)
    finally:
        silent.close()
        for connection in held:
            connection.close()
    assert slow.status_code == 504
    assert slow.headers["content-type"] == PROBLEM
    assert slow.json()["detail"] == "the service did not answer in time"
    assert fine.status_code == 200


async def test_an_unreachable_service_is_502_with_a_problem(cluster: LocalCluster, tmp_path: Path) -> None:
    nobody = f"127.0.0.1:{free_port()}"
    with edge(tmp_path, upstreams_of(cluster, catalog=[nobody])) as (url, _):
        async with httpx.AsyncClient(base_url=url, timeout=30) as client:
            headers = await dev_headers(client, f"edge-{uuid.uuid4().hex[:8]}", "edtech")
            down = await client.get("/api/catalog/tools", headers=headers)
            up = await client.get("/api/pilots/pilots", headers=headers)
    assert down.status_code == 502
    assert down.headers["content-type"] == PROBLEM
    assert down.json()["title"] == "Bad Gateway"
    assert up.status_code == 200


async def test_rate_limits_per_token_and_per_integration_answer_429_with_retry_after(
    cluster: LocalCluster, tmp_path: Path
) -> None:
    limits = {
        "GATEWAY_API_RATE_PER_S": "1",
        "GATEWAY_API_BURST": "2",
        "GATEWAY_WEBHOOK_RATE_PER_S": "1",
        "GATEWAY_WEBHOOK_BURST": "2",
    }
    with edge(tmp_path, upstreams_of(cluster), limits) as (url, _):
        async with httpx.AsyncClient(base_url=url, timeout=30) as client:
            first = await dev_headers(client, f"edge-{uuid.uuid4().hex[:8]}", "edtech")
            second = await dev_headers(client, f"edge-{uuid.uuid4().hex[:8]}", "edtech")
            api = [(await client.get("/api/catalog/tools", headers=first)).status_code for _ in range(6)]
            refused = await client.get("/api/catalog/tools", headers=first)
            other_token = await client.get("/api/catalog/tools", headers=second)
            hook_a = [
                (await client.post("/api/analytics/webhooks/a/events", content=b"[]")).status_code
                for _ in range(6)
            ]
            hook_b = await client.post("/api/analytics/webhooks/b/events", content=b"[]")
    assert api[:3] == [200, 200, 200] and 429 in api[3:], api
    assert refused.status_code == 429
    assert refused.headers["content-type"] == PROBLEM
    assert refused.headers["retry-after"] == "1"
    assert other_token.status_code == 200  # another client's budget is its own
    assert 429 not in hook_a[:3] and 429 in hook_a[3:], hook_a
    assert hook_b.status_code != 429  # a webhook for another integration is another client


async def test_correlation_ids_pass_through_or_are_made_and_the_access_log_is_json(
    cluster: LocalCluster, tmp_path: Path
) -> None:
    with edge(tmp_path, upstreams_of(cluster)) as (url, access):
        async with httpx.AsyncClient(base_url=url, timeout=30) as client:
            headers = await dev_headers(client, f"edge-{uuid.uuid4().hex[:8]}", "edtech")
            kept = await client.get(
                "/api/catalog/tools", headers={**headers, "X-Correlation-ID": "trace-7.a"}
            )
            made = await client.get("/api/catalog/tools", headers={**headers, "X-Correlation-ID": 'bad"id'})
            missing = await client.get("/api/catalog/tools")
            await client.post("/api/analytics/webhooks/abc/canvas/SECRET-TOKEN", json={})
        lines = access_lines(access)
    assert kept.headers["x-correlation-id"] == "trace-7.a"
    assert made.headers["x-correlation-id"] != 'bad"id' and len(made.headers["x-correlation-id"]) == 32
    assert (
        missing.status_code == 401 and missing.json()["correlation_id"] == missing.headers["x-correlation-id"]
    )
    logged = {str(line["correlation_id"]): line for line in lines}
    assert logged["trace-7.a"]["status"] == 200 and logged["trace-7.a"]["path"] == "/api/catalog/tools"
    assert logged[made.headers["x-correlation-id"]]["upstream"] == f"127.0.0.1:{cluster.ports['catalog']}"
    assert not any("SECRET-TOKEN" in json.dumps(line) for line in lines)
    assert any(str(line["path"]).endswith("/canvas/***") for line in lines)


async def test_no_private_operation_of_any_service_answers_without_a_valid_token(
    cluster: LocalCluster, gateway: httpx.AsyncClient
) -> None:
    document = (await gateway.get("/openapi.json")).json()
    bogus = {"Authorization": "Bearer not-a-token"}
    checked, answered = 0, []
    async with httpx.AsyncClient(timeout=30) as client:
        for template, item in document["paths"].items():
            path = re.sub(r"\{[^}]+\}", "00000000-0000-4000-8000-000000000000", template)
            if routes.is_public(path) or _gateway_page(path):
                continue  # the gateway's own routes (sign-in) are checked in tests/gateway/test_signin.py
            service = routes.service_of(path)
            assert service is not None, template
            for method in item:
                if method not in ("get", "post", "put", "patch", "delete"):
                    continue
                for base, headers in (
                    (cluster.url(service), {}),  # straight to the service, past the edge
                    (cluster.url(service), bogus),
                    (cluster.public_url, {}),
                    (cluster.public_url, bogus),
                ):
                    r = await client.request(method, base + path, headers=headers)
                    checked += 1
                    if r.status_code != 401 or r.headers["content-type"] != PROBLEM:
                        answered.append((method, base, path, headers, r.status_code))
    assert checked > 200
    assert answered == []


def _self_signed(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key, as PEM files."""
    import datetime as dt
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "edge.test")])
    now = dt.datetime.now(dt.UTC)
    san = x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))])
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(san, critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / "edge.crt", directory / "edge.key"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_file, key_file


async def test_the_edge_terminates_tls_and_trusts_only_its_load_balancers_forwarded_for(
    cluster: LocalCluster, tmp_path: Path
) -> None:
    cert_file, key_file = _self_signed(tmp_path)
    env = {
        "GATEWAY_TLS_CERT_FILE": str(cert_file),
        "GATEWAY_TLS_KEY_FILE": str(key_file),
        "GATEWAY_TRUSTED_PROXIES": '["127.0.0.1"]',
        "GATEWAY_ADDRESS_RATE_PER_S": "1",
        "GATEWAY_ADDRESS_BURST": "1",
    }
    with edge(tmp_path, upstreams_of(cluster), env) as (url, access):
        https = url.replace("http://", "https://")
        trust = ssl.create_default_context(cafile=str(cert_file))
        async with httpx.AsyncClient(base_url=https, timeout=30, verify=trust) as client:
            live = await client.get("/health/live", headers={"X-Forwarded-For": "203.0.113.7"})
            again = await client.get("/health/live", headers={"X-Forwarded-For": "203.0.113.7"})
            third = await client.get("/health/live", headers={"X-Forwarded-For": "203.0.113.7"})
            other = await client.get("/health/live", headers={"X-Forwarded-For": "198.51.100.9"})
        with pytest.raises(httpx.HTTPError):  # plain HTTP on the TLS port is not served
            async with httpx.AsyncClient(base_url=url, timeout=5) as plain:
                (await plain.get("/health/live")).raise_for_status()
        lines = access_lines(access)
    assert live.status_code == 200 and live.http_version in ("HTTP/1.1", "HTTP/2")
    # One address's budget (1/s, burst 1) is spent by the second and third; the other client has its own.
    assert [again.status_code, third.status_code].count(429) >= 1
    assert other.status_code == 200
    assert {line["client"] for line in lines} >= {"203.0.113.7", "198.51.100.9"}


async def test_a_body_nginx_spools_to_disk_still_reaches_the_service(gateway: httpx.AsyncClient) -> None:
    # Over nginx's in-memory body buffer (256 KiB), under every cap: written to the runtime directory
    # by the workers first (found by the fuzzer: a worker that could not write it answered 500).
    headers = await dev_headers(gateway, f"edge-{uuid.uuid4().hex[:8]}", "edtech")
    body = {"name": "Spooled", "description": "x" * 600_000}
    r = await gateway.post("/api/catalog/tools", json=body, headers=headers)
    assert r.status_code == 422, r.text  # the service's answer: the description is too long
    assert any("description" in e["field"] for e in r.json()["errors"])
