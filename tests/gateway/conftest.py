"""Upstreams for gateway tests: real apps in process, and real sockets for the fault cases."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI, Request

from services.gateway.app import create_app
from services.gateway.config import Settings
from shared.testing import free_port, wait_for_port
from tests.fixtures.services import running_app


class Recorder:
    """What an upstream saw."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []


def echo_app(recorder: Recorder, *, delay_s: float = 0.0) -> FastAPI:
    """An upstream that records each request and answers with what it saw."""
    app = FastAPI()

    @app.api_route("/{path:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
    async def echo(path: str, request: Request) -> dict[str, Any]:
        await asyncio.sleep(delay_s)
        body = await request.body()
        seen = {
            "path": "/" + path,
            "method": request.method,
            "query": request.url.query,
            "headers": dict(request.headers),
            "body_size": len(body),
        }
        recorder.requests.append(seen)
        return {"path": seen["path"], "body_size": len(body)}

    return app


@contextlib.contextmanager
def serve_in_thread(app: FastAPI) -> Iterator[str]:
    """Serve an app with uvicorn on a free port in a thread; yields its base URL."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_for_port("127.0.0.1", port)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture
async def gateway_factory(auth_settings: dict[str, Any]) -> AsyncIterator[Any]:
    """`async with gateway_factory(**settings, transports=...) as client` for a gateway under test."""

    @contextlib.asynccontextmanager
    async def make(
        transports: dict[str, httpx.AsyncBaseTransport] | None = None, **overrides: Any
    ) -> AsyncIterator[httpx.AsyncClient]:
        settings = Settings(**{"environment": "test", **auth_settings, **overrides})
        async with running_app(create_app(settings, transports=transports)) as client:
            yield client

    yield make
