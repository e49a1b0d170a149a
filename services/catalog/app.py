"""The catalog service's app factory."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from services.catalog.checklist.router import router as checklist_router
from services.catalog.config import Settings
from services.catalog.db import Base
from services.catalog.district_settings.router import router as district_settings_router
from services.catalog.documents.router import router as documents_router
from services.catalog.events import HANDLERS
from services.catalog.fatigue.router import router as fatigue_router
from services.catalog.licenses.router import router as licenses_router
from services.catalog.notices.router import router as notices_router
from services.catalog.notices.service import notice_job
from services.catalog.reliability.router import router as reliability_router
from services.catalog.requests.router import router as requests_router
from services.catalog.rubrics.router import router as rubrics_router
from services.catalog.standards.router import router as standards_router
from services.catalog.sunsetting.router import router as sunsetting_router
from services.catalog.sunsetting.service import retirement_job
from services.catalog.tools.router import router as tools_router
from services.catalog.vendor_portal.router import router as vendor_portal_router
from services.catalog.vendors.router import router as vendors_router
from shared.auth import TokenVerifier
from shared.bus import Bus
from shared.service import ServiceRuntime, create_service_app

PREFIX = "/api/catalog"


def create_app(
    settings: Settings | None = None,
    *,
    bus: Bus | None = None,
    verifier: TokenVerifier | None = None,
    analytics_http: httpx.AsyncClient | None = None,
) -> FastAPI:
    """Build the catalog app (uvicorn: `services.catalog.app:create_app --factory`).

    `analytics_http` reaches analytics (the embedded launcher passes an in-process client); without
    it, one is built from `CATALOG_ANALYTICS_URL` when set.
    """
    settings = settings or Settings()
    runtime = ServiceRuntime(
        name="catalog",
        settings=settings,
        metadata=Base.metadata,
        handlers=HANDLERS,
        bus=bus,
        verifier=verifier,
        jobs=[retirement_job, notice_job],
    )
    app = create_service_app(
        runtime,
        title="Catalog",
        prefix=PREFIX,
        description="Tools, vendors, standards alignment, the six-point vetting checklist, rubric "
        "evaluations, licenses, the tool lifecycle up to sunsetting, and tool fatigue.",
        routers=[
            tools_router,
            vendors_router,
            standards_router,
            checklist_router,
            rubrics_router,
            licenses_router,
            sunsetting_router,
            notices_router,
            fatigue_router,
            requests_router,
            reliability_router,
            district_settings_router,
            documents_router,
            vendor_portal_router,
        ],
    )
    app.state.analytics_http = runtime.peer(
        analytics_http, settings.analytics_url, timeout_s=settings.http_timeout_s
    )
    return app
