"""HTTP routes for licenses."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

from fastapi import APIRouter, Query, status

from services.catalog.deps import CanChangeCatalog, Member, SettingsDep
from services.catalog.district_settings.service import district_today, effective_settings
from services.catalog.licenses import service
from services.catalog.licenses.repository import LicenseRepository
from services.catalog.licenses.schemas import LicenseCreate, LicenseRead, LicenseUpdate
from services.catalog.tools.service import get_tool
from shared.api import Page, PageDep, SessionDep

router = APIRouter(tags=["licenses"])


@router.post("/tools/{tool_id}/licenses", status_code=status.HTTP_201_CREATED, response_model=LicenseRead)
async def create_license(
    tool_id: uuid.UUID,
    body: LicenseCreate,
    session: SessionDep,
    principal: CanChangeCatalog,
    settings: SettingsDep,
) -> LicenseRead:
    """Record a license bought for the tool (its cost point is then computed from it)."""
    limits = await effective_settings(session, district_id=principal.district_id, defaults=settings)
    row = await service.create_license(
        session,
        district_id=principal.district_id,
        tool_id=tool_id,
        data=body,
        cost_limit=limits.cost_limit_per_student,
    )
    return service.to_read(row)


@router.get("/licenses", response_model=Page[LicenseRead])
async def list_licenses(
    session: SessionDep, principal: Member, page: PageDep, tool_id: uuid.UUID | None = None
) -> Page[LicenseRead]:
    """List the district's licenses (of one tool with `tool_id`), latest term first."""
    if tool_id is not None:
        await get_tool(session, district_id=principal.district_id, tool_id=tool_id)
    rows, total = await LicenseRepository(session).list(
        district_id=principal.district_id, tool_id=tool_id, limit=page.limit, offset=page.offset
    )
    return Page(items=[service.to_read(r) for r in rows], total=total, limit=page.limit, offset=page.offset)


@router.get("/licenses/renewals", response_model=Page[LicenseRead])
async def upcoming_renewals(
    session: SessionDep,
    principal: Member,
    page: PageDep,
    settings: SettingsDep,
    within_days: Annotated[int | None, Query(ge=0, le=3650)] = None,
) -> Page[LicenseRead]:
    """Licenses renewing in the next `within_days` days (default: the district's renewal window)."""
    if within_days is None:
        within_days = (
            await effective_settings(session, district_id=principal.district_id, defaults=settings)
        ).renewal_window_days
    today = await district_today(session, district_id=principal.district_id)
    rows, total = await LicenseRepository(session).renewals(
        district_id=principal.district_id,
        start=today,
        end=today + dt.timedelta(days=within_days),
        limit=page.limit,
        offset=page.offset,
    )
    return Page(
        items=[service.to_read(r, tool_name=name, today=today) for r, name in rows],
        total=total,
        limit=page.limit,
        offset=page.offset,
    )


@router.get("/licenses/{license_id}", response_model=LicenseRead)
async def get_license(license_id: uuid.UUID, session: SessionDep, principal: Member) -> LicenseRead:
    """One license of the district."""
    return service.to_read(
        await service.get_license(session, district_id=principal.district_id, license_id=license_id)
    )


@router.patch("/licenses/{license_id}", response_model=LicenseRead)
async def update_license(
    license_id: uuid.UUID,
    body: LicenseUpdate,
    session: SessionDep,
    principal: CanChangeCatalog,
    settings: SettingsDep,
) -> LicenseRead:
    """Change a license (seats, price, term, renewal, allocations)."""
    limits = await effective_settings(session, district_id=principal.district_id, defaults=settings)
    row = await service.update_license(
        session,
        district_id=principal.district_id,
        license_id=license_id,
        data=body,
        cost_limit=limits.cost_limit_per_student,
    )
    return service.to_read(row)
