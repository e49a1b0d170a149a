"""Dependencies the pilots routers share: settings, the district's rules, HTTP clients, roles."""

from __future__ import annotations

from typing import Annotated

import httpx
from fastapi import Depends, Request

from services.pilots.config import Settings
from services.pilots.district_settings.schemas import PilotSettingsRead
from services.pilots.district_settings.service import rules_for
from shared.api import PrincipalDep, SessionDep, require_roles
from shared.auth import Principal


def get_settings(request: Request) -> Settings:
    """The pilots service settings of this app."""
    settings: Settings = request.app.state.runtime.settings
    return settings


SettingsDep = Annotated[Settings, Depends(get_settings)]


async def get_rules(session: SessionDep, principal: PrincipalDep, settings: SettingsDep) -> PilotSettingsRead:
    """The pilot numbers in force for the caller's district."""
    return await rules_for(session, settings=settings, district_id=principal.district_id)


RulesDep = Annotated[PilotSettingsRead, Depends(get_rules)]


def get_catalog_http(request: Request) -> httpx.AsyncClient | None:
    """The HTTP client reaching the catalog service, when one is configured."""
    client: httpx.AsyncClient | None = request.app.state.catalog_http
    return client


def get_analytics_http(request: Request) -> httpx.AsyncClient | None:
    """The HTTP client reaching the analytics service, when one is configured."""
    client: httpx.AsyncClient | None = request.app.state.analytics_http
    return client


CatalogHttpDep = Annotated[httpx.AsyncClient | None, Depends(get_catalog_http)]
AnalyticsHttpDep = Annotated[httpx.AsyncClient | None, Depends(get_analytics_http)]

Planner = Annotated[Principal, Depends(require_roles("edtech"))]
"""Creates, starts, evaluates, decides and cancels pilots; changes district settings."""
Recorder = Annotated[Principal, Depends(require_roles("edtech", "specialist"))]
"""Records observations and coaching."""
ErrorReporter = Annotated[Principal, Depends(require_roles("edtech", "specialist", "teacher"))]
"""Logs technical errors."""
Respondent = Annotated[Principal, Depends(require_roles("teacher"))]
"""Answers their own surveys."""
Staff = Annotated[Principal, Depends(require_roles("edtech", "specialist", "admin"))]
"""Reads every pilot of the district (reports, results)."""
Reader = Annotated[Principal, Depends(require_roles("edtech", "specialist", "admin", "teacher"))]
"""Reads pilots; a teacher only the pilots they take part in."""
