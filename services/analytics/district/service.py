"""District inputs and the settings in force (district overrides over the service defaults)."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from services.analytics.config import Settings
from services.analytics.counting.service import request_rebuild
from services.analytics.district.repository import DistrictRepository
from services.analytics.district.schemas import (
    BaselineUpdate,
    DistrictSettingsRead,
    DistrictSettingsUpdate,
    LicenseUpdate,
)
from services.analytics.models import DistrictSetting, License, SubmissionBaseline
from services.analytics.tools.service import check_tool, tool_of_another_district
from shared.db import new_id, utcnow
from shared.events import TamAnswered
from shared.ownership import check_owned

FIELDS = tuple(f for f in DistrictSettingsRead.model_fields if f != "time_zone")
"""The settings whose default is the service's (`ANALYTICS_*`); a district without a time zone is UTC."""


async def effective_settings(
    session: AsyncSession, *, district_id: str, defaults: Settings
) -> DistrictSettingsRead:
    """The district's settings: its overrides, else the service defaults."""
    row = await DistrictRepository(session).settings(district_id)
    values = {f: (getattr(row, f, None) if row is not None else None) for f in FIELDS}
    return DistrictSettingsRead(
        **{f: v if v is not None else getattr(defaults, f) for f, v in values.items()},
        time_zone=(row.time_zone if row is not None else None) or "UTC",
    )


async def district_time_zone(session: AsyncSession, district_id: str) -> str:
    """The district's time zone (UTC unless it set one)."""
    row = await DistrictRepository(session).settings(district_id)
    return (row.time_zone if row is not None else None) or "UTC"


async def update_settings(
    session: AsyncSession, *, district_id: str, data: DistrictSettingsUpdate, defaults: Settings
) -> DistrictSettingsRead:
    """Store the district's overrides (fields sent; null resets to the default). A new time zone recounts
    the district's usage from its events, each in its new day (until then: `groups_current` false)."""
    repo = DistrictRepository(session)
    row = await repo.settings(district_id)
    if row is None:
        row = DistrictSetting(district_id=district_id)
        await repo.add(row)
    zone_before = row.time_zone or "UTC"
    for field, value in data.model_dump(exclude_unset=True).items():
        setattr(row, field, value)
    await session.flush()
    if (row.time_zone or "UTC") != zone_before:
        await request_rebuild(session, district_id)
    return await effective_settings(session, district_id=district_id, defaults=defaults)


async def put_license(
    session: AsyncSession, *, district_id: str, tool_id: uuid.UUID, data: LicenseUpdate
) -> License:
    """Create or replace a tool's license (of a tool, and a catalog license, of no other district).

    Analytics receives no catalog license events, so the only copy of a catalog `license_id` here is
    the licenses districts entered: an id another district's license already names is refused.
    """
    repo = DistrictRepository(session)
    await check_tool(session, district_id=district_id, tool_id=tool_id)
    if data.license_id is not None:
        check_owned(
            await repo.license_districts(data.license_id),
            district_id=district_id,
            value=data.license_id,
            field="license_id",
            label="license",
        )
    row = await repo.license(district_id, str(tool_id))
    if row is None:
        row = License(district_id=district_id, tool_id=str(tool_id), **data.model_dump())
        await repo.add(row)
    else:
        for field, value in data.model_dump().items():
            setattr(row, field, value)
        row.updated_at = utcnow()
        await session.flush()
    return row


async def put_baseline(
    session: AsyncSession, *, district_id: str, subject: str, data: BaselineUpdate
) -> SubmissionBaseline:
    """Create or replace a subject's paper-based submission baseline."""
    repo = DistrictRepository(session)
    row = await repo.baseline(district_id, subject)
    if row is None:
        row = SubmissionBaseline(district_id=district_id, subject=subject, rate=data.rate, note=data.note)
        await repo.add(row)
    else:
        row.rate, row.note, row.updated_at = data.rate, data.note, utcnow()
        await session.flush()
    return row


async def record_tam_answer(session: AsyncSession, *, district_id: str, payload: TamAnswered) -> None:
    """Keep a teacher's TAM answer from pilots (once per pilot, teacher and phase; not for a tool of
    another district)."""
    if await tool_of_another_district(
        session, district_id=district_id, tool_id=str(payload.tool_id), pilot_id=str(payload.pilot_id)
    ):
        return
    await DistrictRepository(session).add_tam_answer(
        {
            "id": new_id(),
            "district_id": district_id,
            "tool_id": str(payload.tool_id),
            "respondent_id": payload.teacher_id,
            "pilot_id": payload.pilot_id,
            "phase": payload.phase,
            "answers": payload.overall.answers,
            "positive": payload.overall.positive,
            "buy_in_target": payload.buy_in_target,
            "responded_at": payload.answered_at,
        }
    )
