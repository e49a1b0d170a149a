"""Dependencies the catalog's routers share: its settings and who may do what."""

from __future__ import annotations

from typing import Annotated

import httpx
from fastapi import Depends, Request

from services.catalog.config import Settings
from shared.api import require_roles
from shared.auth import Principal
from shared.config import DISTRICT_ROLES


def get_settings(request: Request) -> Settings:
    """The catalog's settings (the defaults behind every district's own values)."""
    settings: Settings = request.app.state.runtime.settings
    return settings


SettingsDep = Annotated[Settings, Depends(get_settings)]


def get_analytics_http(request: Request) -> httpx.AsyncClient | None:
    """The HTTP client reaching the analytics service, when one is configured."""
    client: httpx.AsyncClient | None = request.app.state.analytics_http
    return client


AnalyticsHttpDep = Annotated[httpx.AsyncClient | None, Depends(get_analytics_http)]

Member = Annotated[Principal, Depends(require_roles(*DISTRICT_ROLES))]
"""The district's own people (any role but `vendor`: a vendor sees only its portal)."""

VendorActor = Annotated[Principal, Depends(require_roles("vendor"))]
"""A person acting for a vendor (the vendor portal; `vendors.service.vendor_of` says which vendor)."""

Staff = Annotated[Principal, Depends(require_roles("edtech", "specialist", "admin"))]
"""The district's staff (reads vendors' documents)."""

CanChangeCatalog = Annotated[Principal, Depends(require_roles("edtech"))]
"""The district's technologists own the catalog: they change it. The administrator is read-mostly
(DOMAIN.md: dashboards, license spend, buy-in): it reads the catalog and sets district policy only."""

CanSetPolicy = Annotated[Principal, Depends(require_roles("edtech", "admin"))]
"""District policy numbers (cost and fatigue limits, notice days) are set by edtech or admin."""

CanProposeTools = Annotated[Principal, Depends(require_roles("edtech", "specialist"))]
"""Specialists may also propose tools."""

CanRecordEvidence = Annotated[Principal, Depends(require_roles("edtech", "specialist"))]
"""Specialists may also record checklist evidence."""
