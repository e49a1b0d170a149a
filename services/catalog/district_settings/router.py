"""HTTP routes for district settings."""

from __future__ import annotations

from fastapi import APIRouter

from services.catalog.deps import CanSetPolicy, Member, SettingsDep
from services.catalog.district_settings import service
from services.catalog.district_settings.schemas import DistrictSettingsRead, DistrictSettingsUpdate
from shared.api import SessionDep

router = APIRouter(prefix="/district-settings", tags=["district settings"])


@router.get("", response_model=DistrictSettingsRead)
async def read_settings(
    session: SessionDep, principal: Member, settings: SettingsDep
) -> DistrictSettingsRead:
    """The catalog values in force for the caller's district."""
    return await service.effective_settings(session, district_id=principal.district_id, defaults=settings)


@router.put("", response_model=DistrictSettingsRead)
async def update_settings(
    body: DistrictSettingsUpdate, session: SessionDep, principal: CanSetPolicy, settings: SettingsDep
) -> DistrictSettingsRead:
    """Set the district's own values (omitted fields unchanged, null resets to the default)."""
    return await service.update_settings(
        session, district_id=principal.district_id, actor=principal.subject, data=body, defaults=settings
    )
