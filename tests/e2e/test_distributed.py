"""The platform as four real processes on PostgreSQL and the broker (what `make up` runs)."""

from __future__ import annotations

import signal
import uuid

import httpx

from services.demo import dev_headers
from shared.cluster import LocalCluster
from tests.e2e.slice import run_slice


async def test_slice_through_gateway_services_and_broker(gateway: httpx.AsyncClient) -> None:
    result = await run_slice(gateway, district=f"e2e-{uuid.uuid4().hex[:8]}")
    assert result["pilot"]["tool_id"] == result["tool"]["id"]


async def test_other_district_cannot_see_the_slice(gateway: httpx.AsyncClient) -> None:
    result = await run_slice(gateway, district=f"e2e-{uuid.uuid4().hex[:8]}")
    stranger = await dev_headers(gateway, f"e2e-{uuid.uuid4().hex[:8]}", "edtech", "admin")
    tool = await gateway.get(f"/api/catalog/tools/{result['tool']['id']}", headers=stranger)
    pilot = await gateway.get(f"/api/pilots/pilots/{result['pilot']['id']}", headers=stranger)
    assert (tool.status_code, pilot.status_code) == (404, 404)


async def test_service_down_is_502_while_others_keep_serving(
    cluster: LocalCluster, gateway: httpx.AsyncClient
) -> None:
    headers = await dev_headers(gateway, f"e2e-{uuid.uuid4().hex[:8]}", "edtech")
    cluster.stop("analytics", sig=signal.SIGKILL)
    try:
        down = await gateway.get("/api/analytics/dashboards/logins", headers=headers)
        up = await gateway.get("/api/catalog/tools", headers=headers)
        ready = await gateway.get("/health/ready")
    finally:
        cluster.start("analytics")
        cluster.wait_ready("analytics")
    assert down.status_code == 502
    assert down.headers["content-type"] == "application/problem+json"
    assert up.status_code == 200
    assert ready.status_code == 503
    assert ready.json()["checks"]["analytics"].startswith("unavailable")
    assert ready.json()["checks"]["database"] == "ok"  # the gateway's own (sign-in)
    back = await gateway.get("/api/catalog/tools", headers=headers)
    assert back.status_code == 200


async def test_correlation_id_is_echoed_through_the_gateway(gateway: httpx.AsyncClient) -> None:
    headers = await dev_headers(gateway, "e2e-corr", "edtech")
    r = await gateway.get("/api/catalog/tools", headers={**headers, "X-Correlation-ID": "e2e-trace-1"})
    assert r.status_code == 200
    assert r.headers["x-correlation-id"] == "e2e-trace-1"
