"""HTTP routes for what a district enters: settings, licenses, paper baselines, TAM responses."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from services.analytics.deps import Manager, SettingsDep
from services.analytics.district import service
from services.analytics.district.repository import DistrictRepository
from services.analytics.district.schemas import (
    BaselineRead,
    BaselineUpdate,
    DistrictSettingsRead,
    DistrictSettingsUpdate,
    LicenseRead,
)
from shared.api import Page, PageDep, SessionDep

router = APIRouter(tags=["district inputs"])

Subject = Annotated[str, Path(min_length=1, max_length=200, description="A subject, or `all`.")]


@router.get("/settings", response_model=DistrictSettingsRead)
async def get_settings(
    session: SessionDep, principal: Manager, defaults: SettingsDep
) -> DistrictSettingsRead:
    """The analytics settings in force for the district."""
    return await service.effective_settings(session, district_id=principal.district_id, defaults=defaults)


@router.put("/settings", response_model=DistrictSettingsRead)
async def put_settings(
    body: DistrictSettingsUpdate, session: SessionDep, principal: Manager, defaults: SettingsDep
) -> DistrictSettingsRead:
    """Override analytics defaults for the district (threshold, window, buy-in target...)."""
    return await service.update_settings(
        session, district_id=principal.district_id, data=body, defaults=defaults
    )


@router.get("/licenses", response_model=Page[LicenseRead])
async def list_licenses(session: SessionDep, principal: Manager, page: PageDep) -> Page[LicenseRead]:
    """The district's licenses as analytics knows them from the catalog (which owns them: enter and change
    them there), the current one per tool; one per tool, so the page is cut in memory."""
    rows = [
        LicenseRead.model_validate(r)
        for r in await DistrictRepository(session).licenses(principal.district_id)
    ]
    return Page(
        items=rows[page.offset : page.offset + page.limit],
        total=len(rows),
        limit=page.limit,
        offset=page.offset,
    )


@router.put("/baselines/submission-rate/{subject}", response_model=BaselineRead)
async def put_baseline(
    subject: Subject, body: BaselineUpdate, session: SessionDep, principal: Manager
) -> BaselineRead:
    """Enter the paper-based submission rate of a subject (`all` for the district-wide one)."""
    row = await service.put_baseline(session, district_id=principal.district_id, subject=subject, data=body)
    return BaselineRead.model_validate(row)


@router.get("/baselines/submission-rate", response_model=Page[BaselineRead])
async def list_baselines(session: SessionDep, principal: Manager, page: PageDep) -> Page[BaselineRead]:
    """The district's paper-based submission baselines, by subject."""
    rows = [
        BaselineRead.model_validate(r)
        for r in await DistrictRepository(session).baselines(principal.district_id)
    ]
    return Page(
        items=rows[page.offset : page.offset + page.limit],
        total=len(rows),
        limit=page.limit,
        offset=page.offset,
    )
