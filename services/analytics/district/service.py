"""District inputs and the settings in force (district overrides over the service defaults)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from services.analytics.config import Settings
from services.analytics.counting.repository import aggregates_lock
from services.analytics.counting.service import request_rebuild
from services.analytics.district.repository import DistrictRepository
from services.analytics.district.schemas import (
    BaselineUpdate,
    DistrictSettingsRead,
    DistrictSettingsUpdate,
)
from services.analytics.models import DistrictSetting, License, SubmissionBaseline
from services.analytics.tools.service import tool_of_another_district
from shared.clock import clock_of
from shared.db import advisory_lock, new_id, utcnow
from shared.events import DistrictTimeZoneChanged, LicenseRecorded, TamAnswered

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
    """Store the district's overrides (fields sent; null resets to the default).

    Analytics owns the district's time zone. A new one re-dates the events still queued for counting,
    recounts the district's usage from its events, each in its new day (until then: `groups_current`
    false), and is published (`district-time-zone-changed`) for the services that keep a copy.
    """
    repo = DistrictRepository(session)
    row = await repo.settings(district_id)
    if row is None:
        row = DistrictSetting(district_id=district_id)
        await repo.add(row)
    zone_before = row.time_zone or "UTC"
    for field, value in data.model_dump(exclude_unset=True).items():
        setattr(row, field, value)
    await session.flush()
    zone = row.time_zone or "UTC"
    if zone != zone_before:
        row.time_zone_revision = (row.time_zone_revision or 0) + 1
        # Held exclusively, as a rebuild holds it: no worker counts a queued event with its old day
        # while this transaction cuts it again.
        await advisory_lock(session, aggregates_lock(district_id))
        await repo.redate_pending(district_id, zone)
        await request_rebuild(session, district_id)
        from services.analytics.events import outbox  # events.py imports this module's handlers

        await outbox.add(
            session,
            DistrictTimeZoneChanged(
                district_id=district_id,
                time_zone=zone,
                revision=row.time_zone_revision,
                changed_at=clock_of(session).now(),
            ),
            district_id=district_id,
        )
    return await effective_settings(session, district_id=district_id, defaults=defaults)


async def record_license(session: AsyncSession, *, district_id: str, payload: LicenseRecorded) -> None:
    """Keep a catalog license as the tool's current one (the license whose term ends last, as the catalog
    prices a tool); not for a tool of another district."""
    if await tool_of_another_district(
        session, district_id=district_id, tool_id=str(payload.tool_id), license_id=str(payload.license_id)
    ):
        return
    repo = DistrictRepository(session)
    row = await repo.license(district_id, str(payload.tool_id))
    values = {
        "license_id": payload.license_id,
        "seats_purchased": payload.seats,
        "cost_per_seat": round(payload.price_total / payload.seats, 4),
        "teacher_seats": payload.teacher_seats,
        "starts_on": payload.term_start,
        "ends_on": payload.term_end,
    }
    if row is None:
        await repo.add(License(district_id=district_id, tool_id=str(payload.tool_id), **values))
        return
    if row.license_id != payload.license_id and row.ends_on is not None and row.ends_on > payload.term_end:
        return  # another license of the tool runs longer: it stays the current one
    for field, value in values.items():
        setattr(row, field, value)
    row.updated_at = utcnow()
    await session.flush()


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
