"""The pilots service's app factory."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from services.pilots.coaching.router import router as coaching_router
from services.pilots.config import Settings
from services.pilots.db import Base
from services.pilots.district_settings.router import router as settings_router
from services.pilots.error_logs.router import router as error_logs_router
from services.pilots.events import HANDLERS
from services.pilots.observations.router import router as observations_router
from services.pilots.plans.router import router as plans_router
from services.pilots.reports.router import router as reports_router
from services.pilots.surveys.router import router as surveys_router
from services.pilots.tools.router import router as tools_router
from shared.auth import TokenVerifier
from shared.bus import Bus
from shared.service import ServiceRuntime, create_service_app

PREFIX = "/api/pilots"


def create_app(
    settings: Settings | None = None,
    *,
    bus: Bus | None = None,
    verifier: TokenVerifier | None = None,
    catalog_http: httpx.AsyncClient | None = None,
    analytics_http: httpx.AsyncClient | None = None,
) -> FastAPI:
    """Build the pilots app (uvicorn: `services.pilots.app:create_app --factory`).

    `catalog_http` / `analytics_http` reach the other services (the embedded launcher passes in-process
    clients); without them, clients are built from `PILOTS_CATALOG_URL` / `PILOTS_ANALYTICS_URL` when set.
    """
    settings = settings or Settings()
    runtime = ServiceRuntime(
        name="pilots",
        settings=settings,
        metadata=Base.metadata,
        handlers=HANDLERS,
        bus=bus,
        verifier=verifier,
    )
    app = create_service_app(
        runtime,
        title="Pilots",
        prefix=PREFIX,
        description="Classroom pilots of approved tools: plans and lifecycle, the observation schedule, "
        "time-on-task observations, TTIS and TAM surveys, technical error logs and their "
        "patterns, coaching cycles, the pilot report and the rollout plan.",
        routers=[
            plans_router,
            observations_router,
            surveys_router,
            error_logs_router,
            coaching_router,
            reports_router,
            tools_router,
            settings_router,
        ],
    )
    app.state.catalog_http = runtime.peer(
        catalog_http, settings.catalog_url, timeout_s=settings.http_timeout_s
    )
    app.state.analytics_http = runtime.peer(
        analytics_http, settings.analytics_url, timeout_s=settings.http_timeout_s
    )
    return app
