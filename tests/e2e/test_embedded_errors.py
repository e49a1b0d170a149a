"""Embedded errors stay errors: a service failing unexpectedly answers problem+json 500 with its
correlation id through the embedded gateway, served by uvicorn on loopback, and the client's
keep-alive connection stays usable for the next request."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, NoReturn

import httpx
import pytest
import uvicorn

from services.catalog.tools.repository import ToolRepository
from services.demo import dev_headers
from services.embedded import embedded_platform
from shared.errors import PROBLEM_JSON
from shared.testing import free_port


@pytest.fixture
async def embedded_url(tmp_path: Path) -> AsyncIterator[str]:
    """The embedded platform (SQLite, in-process bus and transport) behind uvicorn on a free port."""
    port = free_port()
    async with embedded_platform(data_dir=str(tmp_path), port=port) as platform:
        server = uvicorn.Server(
            uvicorn.Config(platform.gateway, host="127.0.0.1", port=port, lifespan="off", log_config=None)
        )
        task = asyncio.create_task(server.serve())
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.01)
        try:
            yield platform.base_url
        finally:
            server.should_exit = True
            await task


def _local_port(response: httpx.Response) -> int | None:
    """The client-side port of the connection a response came on (None: the server closed it)."""
    try:
        return int(response.extensions["network_stream"].get_extra_info("client_addr")[1])
    except OSError:
        return None


async def test_service_failure_is_a_problem_500_and_the_connection_stays_usable(
    embedded_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def fail(*args: Any, **kwargs: Any) -> NoReturn:
        raise RuntimeError("simulated failure inside the catalog service")

    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    ports: list[
        int | None
    ] = []  # the client side of the connection each answer came on, read while it is open
    async with httpx.AsyncClient(base_url=embedded_url, limits=limits, timeout=30) as client:
        headers = await dev_headers(client, "embedded-errors", "edtech")
        before = await client.get("/api/catalog/tools", headers=headers)
        ports.append(_local_port(before))
        monkeypatch.setattr(ToolRepository, "list", fail)
        failed = await client.get(
            "/api/catalog/tools", headers={**headers, "X-Correlation-ID": "embedded-error-1"}
        )
        ports.append(_local_port(failed))
        monkeypatch.undo()
        after = await client.get("/api/catalog/tools", headers=headers)
        ports.append(_local_port(after))
        again = await client.get("/api/catalog/vendors", headers=headers)
        ports.append(_local_port(again))

    assert before.status_code == 200
    assert failed.status_code == 500
    assert failed.headers["content-type"] == PROBLEM_JSON
    doc = failed.json()
    assert doc["status"] == 500 and doc["title"] == "Internal Server Error"
    assert "simulated" not in failed.text  # internals stay in the log
    assert doc["correlation_id"] == failed.headers["X-Correlation-ID"] == "embedded-error-1"
    assert doc["instance"] == "/api/catalog/tools"
    assert (after.status_code, again.status_code) == (200, 200)
    assert None not in ports and len(set(ports)) == 1  # one keep-alive connection carried all four
