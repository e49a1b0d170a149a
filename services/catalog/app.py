"""The catalog service's app factory."""

from __future__ import annotations

from fastapi import FastAPI

from services.catalog.config import Settings
from services.catalog.db import Base
from services.catalog.events import HANDLERS
from services.catalog.tools.router import router as tools_router
from shared.auth import TokenVerifier
from shared.bus import Bus
from shared.service import ServiceRuntime, create_service_app

PREFIX = "/api/catalog"


def create_app(settings: Settings | None = None, *, bus: Bus | None = None,
               verifier: TokenVerifier | None = None) -> FastAPI:
    """Build the catalog app (uvicorn: `services.catalog.app:create_app --factory`)."""
    settings = settings or Settings()
    runtime = ServiceRuntime(name="catalog", settings=settings, metadata=Base.metadata, handlers=HANDLERS,
                             bus=bus, verifier=verifier)
    return create_service_app(
        runtime, title="Catalog", prefix=PREFIX,
        description="Tools, vendors, standards alignment, the six-point vetting checklist, rubric "
                    "evaluations, licenses and the tool lifecycle up to sunsetting.",
        routers=[tools_router],
    )
