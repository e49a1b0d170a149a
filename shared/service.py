"""What every service process is made of, and the FastAPI app factory that wraps it."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any

import httpx
import structlog
from fastapi import APIRouter, Depends, FastAPI
from fastapi.responses import JSONResponse
from sqlalchemy import MetaData
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp

from shared import VERSION
from shared.apidocs import install_docs
from shared.auth.dev_issuer import DevIssuer
from shared.auth.tokens import LocalIssuer, TokenVerifier
from shared.bus import Bus, bus_for
from shared.clock import Clock
from shared.config import CommonSettings, ServiceSettings
from shared.consumer import EventConsumer, Handler
from shared.db import Database
from shared.errors import PROBLEM_JSON, install_problem_handlers, problem
from shared.metrics import Samplers
from shared.observability import RequestContextMiddleware, configure_logging, metrics_endpoint
from shared.openapi import install_openapi
from shared.outbox import OutboxRelay
from shared.republish import router as republish_router
from shared.tracing import tracing_for
from shared.validation import refuse_bad_input

log = structlog.get_logger(__name__)

BackgroundJob = Callable[["ServiceRuntime"], Coroutine[Any, Any, None]]


class ServiceRuntime:
    """One service's database, bus, outbox, relay, consumer and token verifier, with their lifecycle."""

    def __init__(
        self,
        *,
        name: str,
        settings: ServiceSettings,
        metadata: MetaData,
        handlers: Mapping[Any, Handler] | None = None,
        bus: Bus | None = None,
        verifier: TokenVerifier | None = None,
        jobs: Sequence[BackgroundJob] = (),
    ) -> None:
        if metadata.schema is None:
            raise ValueError("a service's MetaData must name its schema")
        self.name = name
        self.settings = settings
        self.clock = Clock()
        """Where the service's rules and jobs read "now" (`shared.clock`); tests set it."""
        self.db = Database(
            settings.database_url,
            metadata.schema,
            pool_size=settings.db_pool_size,
            echo=settings.db_echo,
            clock=self.clock,
        )
        self.tracing = tracing_for(name, settings)
        """Traces: off unless OTLP is configured (`shared.tracing`)."""
        self.tracing.instrument_engine(self.db.engine)
        self.owns_bus = bus is None
        self.bus = bus or bus_for(settings, client_id=name)
        self.relay = OutboxRelay(
            self.db,
            metadata.tables[f"{metadata.schema}.outbox_event"],
            self.bus,
            service=name,
            batch_size=settings.outbox_batch_size,
            poll_interval_s=settings.outbox_poll_interval_s,
            retention=dt.timedelta(days=settings.outbox_retention_days),
            tracing=self.tracing,
        )
        self.consumer = EventConsumer(
            group=name,
            db=self.db,
            inbox=metadata.tables[f"{metadata.schema}.processed_event"],
            bus=self.bus,
            handlers=handlers or {},
            max_attempts=settings.consumer_max_attempts,
            retry_backoff_s=settings.consumer_retry_backoff_s,
            tracing=self.tracing,
        )
        self.verifier = verifier or build_verifier(settings)
        self.owns_verifier = verifier is None
        self.samplers = Samplers(name)
        """Gauges read at each scrape of /metrics (`shared.metrics`); services add their own."""
        self.samplers.add("outbox", self.relay.sample_backlog)
        if self.consumer.handlers:
            self.samplers.add(
                "dead_letters", self.consumer.sample_dead_letters, every_s=settings.metrics_broker_interval_s
            )
        self.jobs = list(jobs)
        self._job_tasks: list[asyncio.Task[None]] = []
        self._owned_clients: list[httpx.AsyncClient] = []

    def peer(
        self, given: httpx.AsyncClient | None, url: str | None, *, timeout_s: float
    ) -> httpx.AsyncClient | None:
        """The client reaching another service: the one given (the embedded launcher's, in process),
        else one built for `url` and closed with this runtime, else None (not configured). With
        tracing on, its calls carry the trace (`Tracing.instrument_client`)."""
        if given is not None or not url:
            if given is not None:
                self.tracing.instrument_client(given)
            return given
        built = httpx.AsyncClient(base_url=url, timeout=timeout_s)
        self.tracing.instrument_client(built)
        self._owned_clients.append(built)
        return built

    @asynccontextmanager
    async def running(self) -> AsyncIterator[ServiceRuntime]:
        """Start relay, consumers and jobs (when workers are enabled); stop them on exit."""
        configure_logging(level=self.settings.log_level, json=self.settings.json_logs)
        if self.settings.workers_enabled:
            self.consumer.attach()
            if self.owns_bus:
                await self.bus.start()
            self.relay.start()
            self._job_tasks = [asyncio.create_task(job(self)) for job in self.jobs]
        log.info(
            "service_started",
            service=self.name,
            bus=type(self.bus).__name__,
            database=self.db.engine.dialect.name,
            workers=self.settings.workers_enabled,
        )
        try:
            yield self
        finally:
            for task in self._job_tasks:
                task.cancel()
            for task in self._job_tasks:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            # Consumers first (they finish their message, commit, leave the group), then the relay's
            # last pass, which also takes what they just wrote; the producer closes last.
            if self.owns_bus:
                await self.bus.stop_consuming()
            await self.relay.stop()
            if self.owns_bus:
                await self.bus.stop()
            if self.owns_verifier:
                await self.verifier.aclose()
            for client in self._owned_clients:
                await client.aclose()
            await self.db.dispose()
            await self.tracing.shutdown()

    async def readiness(self) -> dict[str, str]:
        """Check the database and the bus; returns each component's state."""
        checks: dict[str, str] = {}
        for component, probe in (("database", self.db.ping), ("bus", self.bus.ping)):
            try:
                await asyncio.wait_for(probe(), timeout=3)
                checks[component] = "ok"
            except Exception as exc:
                checks[component] = f"unavailable: {type(exc).__name__}"
        return checks


def build_verifier(
    settings: CommonSettings,
    *,
    http: httpx.AsyncClient | None = None,
    local_issuers: Sequence[LocalIssuer] = (),
) -> TokenVerifier:
    """The token verifier the settings describe: the platform's own issuer (its keys read from its
    JWKS over `http`, unless this process holds them: `local_issuers`), the static `auth_issuers` and
    the dev issuer when enabled."""
    dev = None
    if settings.auth_dev_issuer:
        dev = DevIssuer(
            issuer=settings.auth_dev_issuer_url,
            audience=settings.auth_dev_audience,
            key_file=settings.auth_dev_key_file,
        )
    platform = settings.platform_issuer
    issuers = [*settings.auth_issuers, *([platform] if platform else [])]
    return TokenVerifier(issuers, dev_issuer=dev, local_issuers=local_issuers, http=http)


def install_health(
    app: FastAPI,
    readiness: Callable[[], Awaitable[dict[str, str]]],
    *,
    refresh_metrics: Callable[[], Awaitable[None]] | None = None,
) -> None:
    """Liveness, readiness and metrics endpoints (`refresh_metrics` runs before each scrape)."""

    @app.get("/health/live", tags=["health"], include_in_schema=False)
    async def live() -> dict[str, str]:
        """The process is up."""
        return {"status": "ok"}

    @app.get("/health/ready", tags=["health"], include_in_schema=False)
    async def ready() -> JSONResponse:
        """The process can serve: its database and bus answer."""
        checks = await readiness()
        if all(v == "ok" for v in checks.values()):
            return JSONResponse({"status": "ok", "checks": checks})
        doc = problem(
            503, "not ready: " + ", ".join(f"{k} {v}" for k, v in checks.items() if v != "ok"), checks=checks
        )
        return JSONResponse(doc, status_code=503, media_type=PROBLEM_JSON)

    async def metrics(request: Request) -> Response:
        if refresh_metrics is not None:
            await refresh_metrics()
        return await metrics_endpoint(request)

    app.add_route("/metrics", metrics, include_in_schema=False)


def create_service_app(
    runtime: ServiceRuntime,
    *,
    title: str,
    description: str,
    routers: Sequence[APIRouter],
    prefix: str,
    version: str = VERSION,
    front: Callable[[ASGIApp], ASGIApp] | None = None,
    **fastapi_kwargs: Any,
) -> FastAPI:
    """A FastAPI app for a service: routers under `prefix`, problem+json, health, metrics, logs.

    `front` wraps the whole middleware stack with an ASGI app serving some requests before FastAPI
    (analytics' webhooks), which traces them itself (`runtime.tracing.asgi`).
    """

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        async with runtime.running():
            yield

    app = FastAPI(
        title=title,
        description=description,
        version=version,
        lifespan=lifespan,
        openapi_url=f"{prefix}/openapi.json",
        docs_url=None,
        redoc_url=None,
        dependencies=[Depends(refuse_bad_input)],
        **fastapi_kwargs,
    )
    app.state.runtime = runtime
    install_problem_handlers(app)
    install_health(app, runtime.readiness, refresh_metrics=runtime.samplers.refresh)
    for router in routers:
        app.include_router(router, prefix=prefix)
    app.include_router(republish_router, prefix=prefix)
    install_openapi(app)
    install_docs(
        app,
        openapi_url=f"{prefix}/openapi.json",
        title=title,
        docs_url=f"{prefix}/docs",
        redoc_url=f"{prefix}/redoc",
        assets_url=f"{prefix}/docs-assets",
    )
    app.add_middleware(RequestContextMiddleware, service=runtime.name)
    runtime.tracing.instrument_app(app)  # FastAPI's own stack (its instrumentation wants it bare)
    if front is not None:
        build_stack = app.build_middleware_stack

        def build_with_front() -> ASGIApp:
            return front(build_stack())

        app.build_middleware_stack = build_with_front  # type: ignore[method-assign]
    return app
