"""The embedded default: the whole platform in one process, no server to install.

SQLite files instead of PostgreSQL (one per service, under `--data-dir`), the in-process bus
instead of Kafka, and the gateway reaching the services in process. The same service code runs
as in production; only the database URL, the bus and the gateway's transport change.

    python -m services.embedded [--host 127.0.0.1] [--port 8000] [--data-dir ./var] [--demo]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import structlog
import uvicorn
from fastapi import FastAPI

from services.analytics import app as analytics_app
from services.analytics.config import Settings as AnalyticsSettings
from services.catalog import app as catalog_app
from services.catalog.config import Settings as CatalogSettings
from services.gateway import app as gateway_app
from services.gateway.config import Settings as GatewaySettings
from services.pilots import app as pilots_app
from services.pilots.config import Settings as PilotsSettings
from shared.asgi import LateBoundApp
from shared.bus import MemoryBus
from shared.migrations import SCHEMAS, SERVICES_WITH_DATABASE, upgrade
from shared.observability import configure_logging
from shared.service import build_verifier

INTERNAL = {s: f"http://{s}.internal" for s in SERVICES_WITH_DATABASE}


@dataclass
class EmbeddedPlatform:
    """The running apps of the embedded platform."""

    gateway: FastAPI
    services: dict[str, FastAPI]
    bus: MemoryBus
    base_url: str


@contextlib.asynccontextmanager
async def embedded_platform(
    *, data_dir: str = "./var", host: str = "127.0.0.1", port: int = 8000, **overrides: Any
) -> AsyncIterator[EmbeddedPlatform]:
    """Migrate the SQLite files, start every service on one in-process bus, and yield the apps."""
    data = Path(data_dir)
    await asyncio.to_thread(data.mkdir, parents=True, exist_ok=True)
    public_url = f"http://{host}:{port}"
    common: dict[str, Any] = {
        "environment": "development",
        "auth_dev_issuer": True,
        "auth_dev_key_file": str(data / "dev-issuer-key.pem"),
        "auth_dev_issuer_url": f"{public_url}/auth/dev",
        "auth_platform_issuer": f"{public_url}/auth",
        **overrides,
    }
    urls = {s: f"sqlite+aiosqlite:///{data / f'{s}.db'}" for s in SCHEMAS}
    for service, url in urls.items():
        await asyncio.to_thread(upgrade, service, url)

    bus = MemoryBus()
    clients: list[httpx.AsyncClient] = []
    # The services read the platform issuer's keys from the gateway's /auth/jwks.json, as in the
    # distributed mode, but in process: the gateway is built last, so the transport is bound late.
    gateway_late = LateBoundApp()
    platform_keys = httpx.AsyncClient(mounts={public_url: httpx.ASGITransport(app=gateway_late)})
    clients.append(platform_keys)

    def in_process(app: FastAPI, service: str) -> httpx.AsyncClient:
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=INTERNAL[service])
        clients.append(client)
        return client

    analytics_settings = AnalyticsSettings(database_url=urls["analytics"], **common)
    analytics = analytics_app.create_app(
        analytics_settings, bus=bus, verifier=build_verifier(analytics_settings, http=platform_keys)
    )
    catalog_settings = CatalogSettings(database_url=urls["catalog"], **common)
    catalog = catalog_app.create_app(
        catalog_settings,
        bus=bus,
        verifier=build_verifier(catalog_settings, http=platform_keys),
        analytics_http=in_process(analytics, "analytics"),
    )
    pilots_settings = PilotsSettings(database_url=urls["pilots"], **common)
    pilots = pilots_app.create_app(
        pilots_settings,
        bus=bus,
        verifier=build_verifier(pilots_settings, http=platform_keys),
        catalog_http=in_process(catalog, "catalog"),
        analytics_http=in_process(analytics, "analytics"),
    )
    services = {"catalog": catalog, "pilots": pilots, "analytics": analytics}

    gateway_fields: dict[str, Any] = {
        "database_url": urls["gateway"],
        "public_url": public_url,
        "secret_key_file": str(data / "gateway-secret.key"),
        **common,
        **{f"{s}_url": INTERNAL[s] for s in services},
    }
    gateway_settings = GatewaySettings(**gateway_fields)
    gateway = gateway_app.create_app(
        gateway_settings, transports={s: httpx.ASGITransport(app=a) for s, a in services.items()}
    )
    gateway_late.target = gateway

    async with contextlib.AsyncExitStack() as stack:
        for app in services.values():
            await stack.enter_async_context(app.router.lifespan_context(app))
        await bus.start()
        stack.push_async_callback(bus.stop)
        for client in clients:
            stack.push_async_callback(client.aclose)
        await stack.enter_async_context(gateway.router.lifespan_context(gateway))
        yield EmbeddedPlatform(gateway=gateway, services=services, bus=bus, base_url=f"http://{host}:{port}")


async def serve(*, host: str, port: int, data_dir: str, demo: bool) -> None:
    """Run the embedded platform behind uvicorn until interrupted."""
    configure_logging(level="INFO")
    async with embedded_platform(data_dir=data_dir, host=host, port=port) as platform:
        if demo:
            from services.demo import load_demo_district

            transport = httpx.ASGITransport(app=platform.gateway)
            async with httpx.AsyncClient(transport=transport, base_url=platform.base_url) as client:
                summary = await load_demo_district(client)
            structlog.contextvars.clear_contextvars()
            print(f"demo district loaded: {summary}", flush=True)
        config = uvicorn.Config(platform.gateway, host=host, port=port, log_config=None, lifespan="off")
        server = uvicorn.Server(config)
        base = platform.base_url
        print(
            f"""
  EdTech platform (embedded: SQLite in {data_dir}, in-process bus)
  Pages:      {base}/app/  (sign in as anyone of the demo district: the development issuer)
  API docs:   {base}/docs
  Dev token:  curl -s -X POST {base}/auth/dev/token -H 'content-type: application/json' \\
                -d '{{"district_id": "demo-district", "roles": ["edtech"]}}'
  Then:       curl -s {base}/api/catalog/tools -H "Authorization: Bearer <access_token>"
""",
            flush=True,
        )
        await server.serve()


def main() -> None:
    """Command line entry point."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--data-dir", default="./var")
    parser.add_argument("--demo", action="store_true", help="load a demo district (once) before serving")
    args = parser.parse_args()
    asyncio.run(serve(host=args.host, port=args.port, data_dir=args.data_dir, demo=args.demo))


if __name__ == "__main__":
    main()
