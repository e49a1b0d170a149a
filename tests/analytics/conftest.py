"""Fixtures of the analytics tests: the app, an integration, and a signed-request helper."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import httpx
import orjson
import pytest
from fastapi import FastAPI

from services.analytics.ingest.signing import signed_headers
from shared.clock import Clock
from tests.fixtures.auth import TokenFactory
from tests.fixtures.services import AppFactory

Poster = Callable[..., Awaitable[httpx.Response]]


@pytest.fixture(scope="session")
async def analytics_app(service_app: AppFactory) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    """The analytics service in process (no workers: events stay in its outbox)."""
    async with service_app("analytics", integration_cache_ttl_s=0) as (app, client):
        yield app, client


@pytest.fixture
def clock(analytics_app: tuple[FastAPI, httpx.AsyncClient]) -> Iterator[Clock]:
    """The analytics service's clock (its jobs' and rules' "now"), back on real time after the test."""
    clock: Clock = analytics_app[0].state.runtime.clock
    yield clock
    clock.reset()


@pytest.fixture
def analytics(analytics_app: tuple[FastAPI, httpx.AsyncClient]) -> httpx.AsyncClient:
    """A client of the analytics service."""
    return analytics_app[1]


@pytest.fixture
async def integration(analytics: httpx.AsyncClient, auth: TokenFactory) -> dict[str, Any]:
    """An integration bound to a fresh tool of this test's district (with its secret)."""
    r = await analytics.post(
        "/api/analytics/integrations",
        headers=auth("edtech"),
        json={"name": "Canvas", "tool_id": str(uuid.uuid4())},
    )
    assert r.status_code == 201, r.text
    return dict(r.json())


def sign_request(
    secret: str, body: bytes, *, webhook_id: str | None = None, timestamp: int | None = None
) -> dict[str, str]:
    """Standard Webhooks headers for a body."""
    return signed_headers(
        secret, webhook_id or f"msg_{uuid.uuid4().hex}", timestamp or int(time.time()), body
    )


@pytest.fixture
def post_signed(analytics: httpx.AsyncClient, integration: dict[str, Any]) -> Poster:
    """`await post_signed("events", payload)`: a correctly signed webhook of the test's integration."""

    async def post(
        fmt: str,
        payload: Any,
        *,
        webhook_id: str | None = None,
        timestamp: int | None = None,
        content_type: str = "application/json",
        secret: str | None = None,
        raw: bytes | None = None,
    ) -> httpx.Response:
        body = raw if raw is not None else orjson.dumps(payload)
        headers = sign_request(
            secret or integration["secret"], body, webhook_id=webhook_id, timestamp=timestamp
        )
        return await analytics.post(
            f"/api/analytics/webhooks/{integration['id']}/{fmt}",
            content=body,
            headers={**headers, "content-type": content_type},
        )

    return post


@pytest.fixture(scope="session")
async def analytics_url(analytics_app: tuple[FastAPI, httpx.AsyncClient]) -> AsyncIterator[str]:
    """The in-process analytics app also served over real HTTP on loopback (for real clients)."""
    import asyncio

    import uvicorn

    config = uvicorn.Config(analytics_app[0], host="127.0.0.1", port=0, lifespan="off", log_level="warning")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    await task
