"""The gateway: auth at the edge, routing, body limits, faults as 502/504, one OpenAPI."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from services.gateway.config import Settings
from shared.testing import free_port
from tests.fixtures.auth import TokenFactory
from tests.fixtures.services import AppFactory
from tests.gateway.conftest import Recorder, echo_app, serve_in_thread


async def test_forwards_path_query_body_token_and_correlation_id(gateway_factory, auth: TokenFactory) -> None:
    recorder = Recorder()
    transports = {"catalog": httpx.ASGITransport(app=echo_app(recorder))}
    async with gateway_factory(transports=transports) as gw:
        headers = {**auth("edtech"), "X-Correlation-ID": "trace-123"}
        r = await gw.post("/api/catalog/tools?limit=5", json={"name": "x"}, headers=headers)
    assert r.status_code == 200, r.text
    assert r.headers["x-correlation-id"] == "trace-123"
    seen = recorder.requests[0]
    assert seen["path"] == "/api/catalog/tools"
    assert seen["query"] == "limit=5"
    assert seen["body_size"] == len(b'{"name":"x"}')
    assert seen["headers"]["authorization"] == headers["Authorization"]
    assert seen["headers"]["x-correlation-id"] == "trace-123"


async def test_refuses_missing_and_bad_tokens_at_the_edge(gateway_factory) -> None:
    recorder = Recorder()
    transports = {"catalog": httpx.ASGITransport(app=echo_app(recorder))}
    async with gateway_factory(transports=transports) as gw:
        missing = await gw.get("/api/catalog/tools")
        bad = await gw.get("/api/catalog/tools", headers={"Authorization": "Bearer not.a.jwt"})
    assert missing.status_code == 401
    assert missing.headers["content-type"] == "application/problem+json"
    assert bad.status_code == 401
    assert recorder.requests == []


async def test_webhook_paths_pass_without_a_user_token(gateway_factory) -> None:
    recorder = Recorder()
    transports = {"analytics": httpx.ASGITransport(app=echo_app(recorder))}
    async with gateway_factory(transports=transports) as gw:
        r = await gw.post("/api/analytics/webhooks/abc/events", content=b"{}")
    assert r.status_code == 200
    assert recorder.requests[0]["path"] == "/api/analytics/webhooks/abc/events"


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "streamed"])
async def test_oversized_body_is_413_and_never_forwarded(
    gateway_factory, auth: TokenFactory, chunked: bool
) -> None:
    recorder = Recorder()
    transports = {"analytics": httpx.ASGITransport(app=echo_app(recorder))}
    body = b"x" * (10 * 1024 * 1024)

    async def stream() -> AsyncIterator[bytes]:
        for i in range(0, len(body), 65536):
            yield body[i : i + 65536]

    async with gateway_factory(transports=transports) as gw:
        content = stream() if chunked else body
        r = await gw.post("/api/analytics/webhooks/abc/events", content=content)
    assert r.status_code == 413
    assert "exceeds the limit" in r.json()["detail"]
    assert recorder.requests == []


async def test_unknown_service_is_404(gateway_factory, auth: TokenFactory) -> None:
    async with gateway_factory() as gw:
        r = await gw.get("/api/billing/things", headers=auth("edtech"))
    assert r.status_code == 404
    assert "/api/<service>/ (catalog, pilots, analytics)" in r.json()["detail"]


async def test_unreachable_service_is_502_and_others_keep_serving(
    gateway_factory, auth: TokenFactory
) -> None:
    recorder = Recorder()
    closed = f"http://127.0.0.1:{free_port()}"
    with serve_in_thread(echo_app(recorder)) as catalog_url:
        async with gateway_factory(pilots_url=closed, catalog_url=catalog_url) as gw:
            down = await gw.get("/api/pilots/pilots", headers=auth("edtech"))
            up = await gw.get("/api/catalog/tools", headers=auth("edtech"))
    assert down.status_code == 502
    assert down.json()["detail"] == "the pilots service is unreachable"
    assert up.status_code == 200


async def test_slow_service_is_504(gateway_factory, auth: TokenFactory) -> None:
    with serve_in_thread(echo_app(Recorder(), delay_s=2.0)) as slow_url:
        async with gateway_factory(catalog_url=slow_url, request_timeout_s=0.3) as gw:
            r = await gw.get("/api/catalog/tools", headers=auth("edtech"))
    assert r.status_code == 504
    assert r.headers["content-type"] == "application/problem+json"


async def test_combined_openapi_merges_every_service(gateway_factory, service_app: AppFactory) -> None:
    async with (
        service_app("catalog") as (catalog, _),
        service_app("pilots") as (pilots, _),
        service_app("analytics") as (analytics, _),
    ):
        transports = {
            "catalog": httpx.ASGITransport(app=catalog),
            "pilots": httpx.ASGITransport(app=pilots),
            "analytics": httpx.ASGITransport(app=analytics),
        }
        async with gateway_factory(transports=transports) as gw:
            doc = (await gw.get("/openapi.json")).json()
            docs_page = await gw.get("/docs")
    assert "x-unavailable" not in doc
    assert "/api/catalog/tools" in doc["paths"] and "/auth/providers" in doc["paths"]
    assert {tag["name"] for tag in doc["tags"]} == {"gateway", "catalog", "pilots", "analytics"}
    assert docs_page.status_code == 200 and "/openapi.json" in docs_page.text
    refs = [v for v in _walk_refs(doc)]
    missing = [r for r in refs if r.split("/")[-1] not in doc["components"]["schemas"]]
    assert missing == []


async def test_openapi_lists_unavailable_services(gateway_factory) -> None:
    closed = f"http://127.0.0.1:{free_port()}"
    async with gateway_factory(catalog_url=closed, pilots_url=closed, analytics_url=closed) as gw:
        doc = (await gw.get("/openapi.json")).json()
    assert doc["x-unavailable"] == ["catalog", "pilots", "analytics"]


async def test_dev_token_endpoint_mints_tokens_services_accept(
    gateway_factory, service_app: AppFactory
) -> None:
    async with service_app("catalog") as (catalog, _):
        async with gateway_factory(transports={"catalog": httpx.ASGITransport(app=catalog)}) as gw:
            minted = await gw.post("/auth/dev/token", json={"district_id": "d-gw", "roles": ["teacher"]})
            token = minted.json()["access_token"]
            r = await gw.get("/api/catalog/tools", headers={"Authorization": f"Bearer {token}"})
            jwks = (await gw.get("/auth/dev/jwks.json")).json()
    assert r.status_code == 200
    assert jwks["keys"][0]["alg"] == "RS256"


async def test_dev_issuer_absent_when_disabled(gateway_factory) -> None:
    async with gateway_factory(auth_dev_issuer=False) as gw:
        r = await gw.post("/auth/dev/token", json={})
    assert r.status_code == 404


def test_production_settings_refuse_the_dev_issuer() -> None:
    with pytest.raises(ValueError, match="auth_dev_issuer must be off in production"):
        Settings(environment="production", auth_dev_issuer=True)


def _walk_refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            else:
                yield from _walk_refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk_refs(value)


async def test_odd_characters_in_paths_are_forwarded_encoded_not_a_500(
    gateway_factory: Any, service_app: AppFactory, auth: TokenFactory
) -> None:
    recorder = Recorder()
    async with service_app("catalog") as (catalog, _):
        transports = {
            "analytics": httpx.ASGITransport(app=echo_app(recorder)),
            "catalog": httpx.ASGITransport(app=catalog),
        }
        async with gateway_factory(transports=transports) as gw:
            echoed = await gw.get("/api/analytics/x%0D%C3%94%3C%1Dy", headers=auth("edtech"))
            invalid_id = await gw.get("/api/catalog/tools/q%C3%91%0D%1DE%24", headers=auth("edtech"))
    assert echoed.status_code == 200
    assert recorder.requests[0]["path"] == "/api/analytics/x\r\u00d4<\x1dy"
    assert invalid_id.status_code == 422
    assert invalid_id.json()["errors"][0]["field"] == "tool_id"


async def test_the_embedded_edge_decides_on_the_normalised_path_as_nginx_does(
    gateway_factory: Any, auth: TokenFactory
) -> None:
    recorder = Recorder()
    transports = {"analytics": httpx.ASGITransport(app=echo_app(recorder))}
    async with gateway_factory(transports=transports) as gw:
        sneaked = await gw.get("/api/analytics/webhooks/%2e%2e/integrations")
        climbed = await gw.get("/api/analytics/webhooks/%2e%2e/%2e%2e/catalog/tools")
        outside = await gw.get("/api/analytics/webhooks/%2e%2e/%2e%2e/%2e%2e/openapi.json")
        above = await gw.get("/%2e%2e/api/analytics/integrations")
        public = await gw.post("/api/analytics/webhooks/x/%2E%2e/abc%2Fevents", content=b"[]")
        private = await gw.get("/api/analytics/webhooks%2F..%2Fintegrations", headers=auth("edtech"))
    assert sneaked.status_code == 401  # /api/analytics/integrations needs a token
    assert climbed.status_code == 401  # /api/catalog/tools needs a token
    assert outside.status_code == 200 and "paths" in outside.json()  # the gateway's own page, routed
    assert above.status_code == 400 and above.json()["errors"][0]["field"] == "path"
    assert public.status_code == 200
    assert private.status_code == 200
    # What reached the service is the normalised path, the one the decision was made on.
    assert [r["path"] for r in recorder.requests if not r["path"].endswith("/openapi.json")] == [
        "/api/analytics/webhooks/abc/events",
        "/api/analytics/integrations",
    ]


async def test_readiness_names_the_gateways_own_database_when_it_is_unreachable(gateway_factory: Any) -> None:
    async with gateway_factory(database_url="postgresql+asyncpg://postgres@127.0.0.1:9/none") as client:
        r = await client.get("/health/ready")
    assert r.status_code == 503
    assert r.json()["checks"]["database"].startswith("unavailable")
