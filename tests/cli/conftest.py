"""The `edtech` command line against the real services: catalog and analytics on the test database
behind the gateway app, served by uvicorn on a port of their own (the command line talks HTTP to it),
and a Kafka-protocol broker of the module's own for the commands that run with a service's settings."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from typer.testing import CliRunner

from services.analytics.app import create_app as create_analytics
from services.analytics.config import Settings as AnalyticsSettings
from services.catalog.app import create_app as create_catalog
from services.catalog.config import Settings as CatalogSettings
from services.gateway.app import create_app as create_gateway
from services.gateway.config import Settings as GatewaySettings
from shared.bus import MemoryBus
from shared.cli import app
from shared.testing import TansuBroker, free_port, wait_for_port

T = TypeVar("T")


@dataclass
class ServedPlatform:
    """Catalog and analytics behind the gateway, served on `url` by a thread with its own loop."""

    url: str
    apps: dict[str, FastAPI]
    bus: MemoryBus
    loop: asyncio.AbstractEventLoop
    server: uvicorn.Server | None = None
    stopped: threading.Event = field(default_factory=threading.Event)

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """Run a coroutine on the platform's loop (its database engines live there); its result."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout=60)


@pytest.fixture(scope="session")
def served_platform(database_url: str, auth_settings: dict[str, Any]) -> Iterator[ServedPlatform]:
    """The platform the command line calls: no background workers (a test runs what it needs)."""
    port = free_port()
    common: dict[str, Any] = {
        "database_url": database_url,
        "environment": "test",
        "workers_enabled": False,
        **auth_settings,
    }
    holder: dict[str, ServedPlatform] = {}
    ready = threading.Event()

    async def serve() -> None:
        bus = MemoryBus()
        catalog = create_catalog(CatalogSettings(**common), bus=bus)
        analytics = create_analytics(AnalyticsSettings(**common), bus=bus)
        fields: dict[str, Any] = {
            f"{s}_url": f"http://{s}.internal" for s in ("catalog", "pilots", "analytics")
        }
        gateway_settings = GatewaySettings(environment="test", **auth_settings, **fields)
        gateway = create_gateway(
            gateway_settings,
            transports={
                "catalog": httpx.ASGITransport(app=catalog),
                "analytics": httpx.ASGITransport(app=analytics),
            },
        )
        platform = ServedPlatform(
            url=f"http://127.0.0.1:{port}",
            apps={"catalog": catalog, "analytics": analytics},
            bus=bus,
            loop=asyncio.get_running_loop(),
        )
        async with contextlib.AsyncExitStack() as stack:
            for service in (catalog, analytics, gateway):
                await stack.enter_async_context(service.router.lifespan_context(service))
            platform.server = uvicorn.Server(
                uvicorn.Config(gateway, host="127.0.0.1", port=port, lifespan="off", log_level="warning")
            )
            holder["platform"] = platform
            ready.set()
            await platform.server.serve()

    thread = threading.Thread(target=lambda: asyncio.run(serve()), name="cli-platform", daemon=True)
    thread.start()
    assert ready.wait(timeout=60), "the platform did not start"
    wait_for_port("127.0.0.1", port)
    platform = holder["platform"]
    try:
        yield platform
    finally:
        assert platform.server is not None
        platform.server.should_exit = True
        thread.join(timeout=20)


@pytest.fixture(scope="module")
def broker() -> Iterator[str]:
    """A broker of this module's own (its topics hold only what the module's tests put there)."""
    started = TansuBroker().start()
    try:
        yield started.bootstrap_servers
    finally:
        started.stop()


@pytest.fixture
def cli() -> CliRunner:
    """Runs `edtech` in process, as its console script would."""
    return CliRunner()


def invoke(runner: CliRunner, *args: str, env: dict[str, str] | None = None) -> Any:
    """`edtech <args>`; the result (exit_code, stdout, stderr)."""
    return runner.invoke(app, list(args), env=env, catch_exceptions=False)
