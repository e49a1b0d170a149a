"""HTTP routes for a district's pilot settings."""

from __future__ import annotations

from fastapi import APIRouter

from services.pilots.api import Planner, Reader, RulesDep, SettingsDep
from services.pilots.district_settings import service
from services.pilots.district_settings.schemas import PilotSettingsRead, PilotSettingsUpdate
from shared.api import SessionDep

router = APIRouter(prefix="/settings", tags=["settings"])


@router.get("", response_model=PilotSettingsRead)
async def read_settings(rules: RulesDep, _: Reader) -> PilotSettingsRead:
    """The pilot numbers in force for the caller's district."""
    return rules


@router.put("", response_model=PilotSettingsRead)
async def update_settings(
    body: PilotSettingsUpdate, session: SessionDep, principal: Planner, settings: SettingsDep
) -> PilotSettingsRead:
    """Override some of the district's pilot numbers (null returns a field to the default)."""
    return await service.update_settings(
        session, settings=settings, district_id=principal.district_id, data=body
    )
