"""Rules for district settings: each value is the district's own or the service default; the district's
time zone is a copy of analytics' (its one owner), kept from `district-time-zone-changed`."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from services.catalog.config import Settings
from services.catalog.district_settings.repository import DistrictSettingRepository
from services.catalog.district_settings.schemas import DistrictSettingsRead, DistrictSettingsUpdate
from shared.clock import clock_of
from shared.time_zones import local_date

FIELDS = ("cost_limit_per_student", "retirement_notice_days", "fatigue_limit", "renewal_window_days")
ANALYTICS = "analytics-service"
"""Who changed a settings row when analytics' event did (its time zone)."""


async def effective_settings(
    session: AsyncSession, *, district_id: str, defaults: Settings
) -> DistrictSettingsRead:
    """The values in force for a district: its own where set, else the service defaults."""
    row = await DistrictSettingRepository(session).get(district_id=district_id)
    values = {
        "cost_limit_per_student": defaults.default_cost_limit_per_student,
        "retirement_notice_days": defaults.default_retirement_notice_days,
        "fatigue_limit": defaults.default_fatigue_limit,
        "renewal_window_days": defaults.default_renewal_window_days,
    }
    overridden = []
    if row is not None:
        for name in FIELDS:
            value = getattr(row, name)
            if value is not None:
                values[name] = float(value) if isinstance(value, Decimal) else value
                overridden.append(name)
    time_zone = (row.time_zone if row is not None else None) or "UTC"
    return DistrictSettingsRead(**values, time_zone=time_zone, overridden=overridden)


async def district_time_zone(session: AsyncSession, *, district_id: str) -> str:
    """The district's time zone as the catalog knows it from analytics (UTC until told)."""
    row = await DistrictSettingRepository(session).get(district_id=district_id)
    return (row.time_zone if row is not None else None) or "UTC"


async def district_today(session: AsyncSession, *, district_id: str) -> dt.date:
    """Today in the district's time zone, on the service's clock."""
    return local_date(clock_of(session).now(), await district_time_zone(session, district_id=district_id))


async def apply_time_zone(session: AsyncSession, *, district_id: str, time_zone: str, revision: int) -> None:
    """Keep the district's time zone as analytics published it, unless a later change (a higher
    revision) is already kept: a replayed or late event changes nothing."""
    row = await DistrictSettingRepository(session).get_or_create(district_id=district_id, actor=ANALYTICS)
    if row.time_zone_revision is not None and row.time_zone_revision >= revision:
        return
    row.time_zone, row.time_zone_revision = time_zone, revision
    await session.flush()


async def update_settings(
    session: AsyncSession, *, district_id: str, actor: str, data: DistrictSettingsUpdate, defaults: Settings
) -> DistrictSettingsRead:
    """Set (or reset with null) the given values; cost points computed from licenses follow the new limit."""
    repo = DistrictSettingRepository(session)
    row = await repo.get_or_create(district_id=district_id, actor=actor)
    for name, value in data.model_dump(exclude_unset=True).items():
        setattr(
            row,
            name,
            Decimal(str(value)) if name == "cost_limit_per_student" and value is not None else value,
        )
    row.updated_by = actor
    await session.flush()
    current = await effective_settings(session, district_id=district_id, defaults=defaults)
    if "cost_limit_per_student" in data.model_fields_set:
        from services.catalog.checklist.service import recompute_cost_points

        await recompute_cost_points(session, district_id=district_id, limit=current.cost_limit_per_student)
    return current
