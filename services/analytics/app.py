"""The analytics service's app factory."""

from __future__ import annotations

from fastapi import FastAPI

from services.analytics.config import Settings
from services.analytics.db import Base
from services.analytics.events import HANDLERS
from shared.auth import TokenVerifier
from shared.bus import Bus
from shared.service import ServiceRuntime, create_service_app

PREFIX = "/api/analytics"


def create_app(settings: Settings | None = None, *, bus: Bus | None = None,
               verifier: TokenVerifier | None = None) -> FastAPI:
    """Build the analytics app (uvicorn: `services.analytics.app:create_app --factory`)."""
    settings = settings or Settings()
    runtime = ServiceRuntime(name="analytics", settings=settings, metadata=Base.metadata, handlers=HANDLERS,
                             bus=bus, verifier=verifier)
    return create_service_app(runtime, title="Analytics", prefix=PREFIX, description="Analytics: LMS usage events, rosters, dashboards, license and teacher utilization signals.", routers=[])
