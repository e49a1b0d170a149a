"""The pilots service's app factory."""

from __future__ import annotations

from fastapi import FastAPI

from services.pilots.config import Settings
from services.pilots.db import Base
from services.pilots.events import HANDLERS
from shared.auth import TokenVerifier
from shared.bus import Bus
from shared.service import ServiceRuntime, create_service_app

PREFIX = "/api/pilots"


def create_app(settings: Settings | None = None, *, bus: Bus | None = None,
               verifier: TokenVerifier | None = None) -> FastAPI:
    """Build the pilots app (uvicorn: `services.pilots.app:create_app --factory`)."""
    settings = settings or Settings()
    runtime = ServiceRuntime(name="pilots", settings=settings, metadata=Base.metadata, handlers=HANDLERS,
                             bus=bus, verifier=verifier)
    return create_service_app(runtime, title="Pilots", prefix=PREFIX, description="Pilots: 4-week classroom pilots, observations, surveys, error logs, coaching and the decision.", routers=[])
