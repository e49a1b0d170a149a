"""The numbers in force per district: service defaults with the district's overrides on top, and the
district's time zone, a copy of analytics' (its one owner) kept from `district-time-zone-changed`."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from services.pilots.config import Settings
from services.pilots.district_settings.repository import DistrictSettingRepository
from services.pilots.district_settings.schemas import FIELDS, PilotSettingsRead, PilotSettingsUpdate
from services.pilots.models import DistrictSetting
from shared.errors import Unprocessable


def defaults(settings: Settings) -> dict[str, float | int]:
    """The service-wide defaults, by field name."""
    return {
        name: getattr(settings, name if name.startswith("default_") else f"default_{name}") for name in FIELDS
    }


def _effective(settings: Settings, row: DistrictSetting | None) -> PilotSettingsRead:
    values = defaults(settings)
    overridden = []
    for name in FIELDS:
        value = getattr(row, name) if row is not None else None
        if value is not None:
            values[name] = value
            overridden.append(name)
    time_zone = (row.time_zone if row is not None else None) or "UTC"
    return PilotSettingsRead(**values, time_zone=time_zone, overridden=overridden)


async def rules_for(session: AsyncSession, *, settings: Settings, district_id: str) -> PilotSettingsRead:
    """The pilot numbers in force for a district."""
    return _effective(settings, await DistrictSettingRepository(session).get(district_id=district_id))


async def update_settings(
    session: AsyncSession, *, settings: Settings, district_id: str, data: PilotSettingsUpdate
) -> PilotSettingsRead:
    """Store a district's overrides (only the fields sent); refuses an inconsistent week range."""
    repo = DistrictSettingRepository(session)
    row = await repo.get(district_id=district_id)
    if row is None:
        row = await repo.add(DistrictSetting(district_id=district_id))
    for name, value in data.model_dump(exclude_unset=True).items():
        setattr(row, name, value)
    result = _effective(settings, row)
    if not result.min_weeks <= result.default_weeks <= result.max_weeks:
        raise Unprocessable(
            f"default_weeks ({result.default_weeks}) must lie within min_weeks ({result.min_weeks}) and "
            f"max_weeks ({result.max_weeks})",
            field="default_weeks" if "default_weeks" in data.model_fields_set else "max_weeks",
        )
    await session.flush()
    return result


async def apply_time_zone(session: AsyncSession, *, district_id: str, time_zone: str, revision: int) -> None:
    """Keep the district's time zone as analytics published it, unless a later change (a higher
    revision) is already kept: a replayed or late event changes nothing."""
    repo = DistrictSettingRepository(session)
    row = await repo.get(district_id=district_id)
    if row is None:
        row = await repo.add(DistrictSetting(district_id=district_id))
    if row.time_zone_revision is not None and row.time_zone_revision >= revision:
        return
    row.time_zone, row.time_zone_revision = time_zone, revision
    await session.flush()
