"""Dependencies shared by the analytics routers."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from services.analytics.config import Settings
from services.analytics.integrations.service import IntegrationCache
from shared.api import require_roles
from shared.auth import Principal


async def get_settings(request: Request) -> Settings:
    """The running service's settings."""
    settings: Settings = request.app.state.runtime.settings
    return settings


async def get_integration_cache(request: Request) -> IntegrationCache:
    """The process-wide integration cache."""
    cache: IntegrationCache = request.app.state.integration_cache
    return cache


def public_base(request: Request) -> str:
    """The platform's public base URL, as LMSs and people reach it: `ANALYTICS_PUBLIC_URL`, else
    the URL this request came in on (its forwarded scheme and its host)."""
    settings: Settings = request.app.state.runtime.settings
    if settings.public_url:
        return settings.public_url.rstrip("/")
    proto = request.headers.get("x-forwarded-proto", request.url.scheme)
    return f"{proto}://{request.url.netloc}"


SettingsDep = Annotated[Settings, Depends(get_settings)]
IntegrationCacheDep = Annotated[IntegrationCache, Depends(get_integration_cache)]
Manager = Annotated[Principal, Depends(require_roles("edtech", "admin"))]
"""Who configures analytics: the district's technologists and administrators."""
Viewer = Annotated[Principal, Depends(require_roles("edtech", "admin", "specialist", "teacher"))]
"""Who reads dashboards (teachers are narrowed to their own classes)."""
Staff = Annotated[Principal, Depends(require_roles("edtech", "admin", "specialist"))]
"""Who reads district-wide figures (licenses, teacher utilization, reports)."""
