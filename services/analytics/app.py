"""The analytics service's app factory."""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI

from services.analytics.config import Settings
from services.analytics.counting.service import CountingWorker, sample_backlog
from services.analytics.dashboards.router import reports as reports_router
from services.analytics.dashboards.router import router as dashboards_router
from services.analytics.db import Base
from services.analytics.district.router import router as district_router
from services.analytics.events import HANDLERS
from services.analytics.ingest.batcher import IngestBatcher
from services.analytics.ingest.jwks import JwksCache
from services.analytics.ingest.router import WebhookReceiver
from services.analytics.ingest.router import router as webhooks_router
from services.analytics.ingest.service import purge_deliveries_job
from services.analytics.integrations.router import router as integrations_router
from services.analytics.integrations.service import IntegrationCache
from services.analytics.outcomes.router import router as outcomes_router
from services.analytics.people.router import router as people_router
from services.analytics.pilots.router import router as pilots_router
from services.analytics.retention.service import retention_job
from services.analytics.rosters.jobs import RosterImports
from services.analytics.rosters.router import router as rosters_router
from services.analytics.signals.router import router as signals_router
from services.analytics.signals.service import signals_job
from services.analytics.tools.router import router as tools_router
from services.analytics.tools.service import ToolDistricts
from shared.auth import TokenVerifier
from shared.bus import Bus
from shared.observability import sample_request_logs
from shared.service import ServiceRuntime, create_service_app

PREFIX = "/api/analytics"
WEBHOOK_LOG_SAMPLE_EVERY = 100
"""Successful webhook requests are logged one in this many (errors and slow ones always)."""


def create_app(
    settings: Settings | None = None, *, bus: Bus | None = None, verifier: TokenVerifier | None = None
) -> FastAPI:
    """Build the analytics app (uvicorn: `services.analytics.app:create_app --factory`)."""
    settings = settings or Settings()
    counting = CountingWorker(
        max_events=settings.counting_batch_events,
        poll_interval_s=settings.counting_poll_interval_s,
        linger_s=settings.counting_linger_s,
    )
    roster_imports = RosterImports()
    runtime = ServiceRuntime(
        name="analytics",
        settings=settings,
        metadata=Base.metadata,
        handlers=HANDLERS,
        bus=bus,
        verifier=verifier,
        jobs=[counting.run, signals_job, purge_deliveries_job, retention_job, roster_imports.run],
    )
    runtime.samplers.add("counting", functools.partial(sample_backlog, runtime.db))
    app = create_service_app(
        runtime,
        title="Analytics",
        prefix=PREFIX,
        description="LMS usage events in (signed webhooks: platform JSON, IMS Caliper, xAPI, Canvas), "
        "OneRoster rosters, dashboards, license and teacher utilization signals out.",
        routers=[
            webhooks_router,
            integrations_router,
            rosters_router,
            people_router,
            district_router,
            dashboards_router,
            reports_router,
            signals_router,
            pilots_router,
            tools_router,
            outcomes_router,
        ],
        # The webhook hot path is served in front of the whole FastAPI stack (same answers, a
        # fraction of the cost); its successful requests are logged one in N, errors always.
        front=lambda stack: WebhookReceiver(
            stack, prefix=PREFIX, service=runtime.name, traced=runtime.tracing.asgi
        ),
    )
    sample_request_logs(WebhookReceiver.route_template(PREFIX), every=WEBHOOK_LOG_SAMPLE_EVERY)
    app.state.integration_cache = IntegrationCache(settings.integration_cache_ttl_s)
    app.state.roster_imports = roster_imports
    app.state.tool_districts = ToolDistricts()
    canvas_keys = app.state.canvas_keys = JwksCache(
        settings.canvas_jwks_url,
        ttl_s=settings.canvas_jwks_cache_s,
        min_refetch_s=settings.canvas_jwks_min_refetch_s,
    )
    batcher = app.state.ingest_batcher = IngestBatcher(
        runtime.db,
        workers=settings.ingest_flush_workers,
        max_group_events=settings.ingest_max_group_events,
        on_commit=counting.wake,
        tracing=runtime.tracing,
    )
    service_lifespan = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[Any]:
        async with service_lifespan(app) as state:
            try:
                yield state
            finally:
                await batcher.stop()  # drain queued deliveries before the database closes
                await roster_imports.stop()  # an import stopped here is claimed again later
                await canvas_keys.aclose()

    app.router.lifespan_context = lifespan
    return app
