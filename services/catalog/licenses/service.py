"""Rules for licenses: coherent terms and allocations; the tool's cost point follows its license.

The catalog owns licenses: every change is published (`license-recorded`) for analytics' copy, which
measures their use and sends back the seats used per window (`license-seats-used`), shown here.
"""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from services.catalog.checklist.service import recompute_cost_point
from services.catalog.events import outbox
from services.catalog.licenses.costs import cost_per_seat, cost_per_student, cost_per_student_per_year
from services.catalog.licenses.repository import LicenseRepository
from services.catalog.licenses.schemas import LicenseCreate, LicenseRead, LicenseUpdate, SeatsUsed
from services.catalog.models import License
from services.catalog.tools.service import get_tool
from shared.clock import clock_of
from shared.errors import NotFound, Unprocessable
from shared.events import LicenseRecorded, LicenseSeatsUsed


def _check(seats: int, term_start: dt.date, term_end: dt.date, allocations: dict[str, int]) -> None:
    if term_end < term_start:
        raise Unprocessable("the term cannot end before it starts", field="term_end")
    if sum(allocations.values()) > seats:
        raise Unprocessable(
            f"{sum(allocations.values())} seats allocated to schools but only {seats} bought",
            field="allocations",
        )


def to_read(license_: License, *, tool_name: str | None = None, today: dt.date | None = None) -> LicenseRead:
    """A license as returned by the API, with its costs."""
    return LicenseRead(
        id=license_.id,
        tool_id=license_.tool_id,
        tool_name=tool_name,
        seats=license_.seats,
        teacher_seats=license_.teacher_seats,
        students_covered=license_.students_covered,
        price_total=float(license_.price_total),
        term_start=license_.term_start,
        term_end=license_.term_end,
        renewal_date=license_.renewal_date,
        allocations=license_.allocations or {},
        allocated_seats=sum((license_.allocations or {}).values()),
        notes=license_.notes,
        cost_per_seat=cost_per_seat(license_.price_total, license_.seats),
        cost_per_student=cost_per_student(license_.price_total, license_.seats, license_.students_covered),
        cost_per_student_per_year=cost_per_student_per_year(
            license_.price_total,
            license_.seats,
            license_.students_covered,
            license_.term_start,
            license_.term_end,
        ),
        days_to_renewal=(license_.renewal_date - today).days if today and license_.renewal_date else None,
        seats_used=None
        if license_.seats_used is None or license_.seats_used_from is None or license_.seats_used_to is None
        else SeatsUsed(
            window_start=license_.seats_used_from,
            window_end=license_.seats_used_to,
            seats=license_.seats_used,
            share=round(license_.seats_used / license_.seats, 4),
            teachers_active=license_.teachers_active,
        ),
        created_at=license_.created_at,
        updated_at=license_.updated_at,
    )


async def create_license(
    session: AsyncSession, *, district_id: str, tool_id: uuid.UUID, data: LicenseCreate, cost_limit: float
) -> License:
    """Record a license of a tool and re-evaluate the tool's cost point from it."""
    tool = await get_tool(session, district_id=district_id, tool_id=tool_id, for_update=True)
    _check(data.seats, data.term_start, data.term_end, data.allocations)
    license_ = await LicenseRepository(session).add(
        License(district_id=district_id, tool_id=tool.id, **data.model_dump())
    )
    await recompute_cost_point(session, tool=tool, limit=cost_limit)
    await _publish(session, license_)
    return license_


async def _publish(session: AsyncSession, license_: License) -> None:
    await outbox.add(
        session,
        LicenseRecorded(
            tool_id=license_.tool_id,
            license_id=license_.id,
            seats=license_.seats,
            teacher_seats=license_.teacher_seats,
            price_total=float(license_.price_total),
            term_start=license_.term_start,
            term_end=license_.term_end,
            recorded_at=clock_of(session).now(),
        ),
        district_id=license_.district_id,
    )


async def record_seats_used(session: AsyncSession, *, district_id: str, payload: LicenseSeatsUsed) -> None:
    """Keep the seats analytics counted used on a license of the district (its latest window wins)."""
    if payload.license_id is None:
        return
    license_ = await LicenseRepository(session).get(district_id=district_id, license_id=payload.license_id)
    if license_ is None or license_.tool_id != payload.tool_id:
        return  # not this district's license of that tool: nothing to record
    if license_.seats_used_to is not None and license_.seats_used_to > payload.window_end:
        return
    license_.seats_used, license_.teachers_active = payload.seats_used, payload.teachers_active
    license_.seats_used_from, license_.seats_used_to = payload.window_start, payload.window_end
    await session.flush()


async def get_license(
    session: AsyncSession, *, district_id: str, license_id: uuid.UUID, for_update: bool = False
) -> License:
    """A district's license; 404 otherwise."""
    license_ = await LicenseRepository(session).get(
        district_id=district_id, license_id=license_id, for_update=for_update
    )
    if license_ is None:
        raise NotFound(f"license {license_id} not found")
    return license_


async def update_license(
    session: AsyncSession, *, district_id: str, license_id: uuid.UUID, data: LicenseUpdate, cost_limit: float
) -> License:
    """Change a license; the tool's cost point follows."""
    license_ = await get_license(session, district_id=district_id, license_id=license_id, for_update=True)
    values = data.model_dump(exclude_unset=True)
    for name in ("seats", "price_total", "term_start", "term_end", "allocations"):
        if name in values and values[name] is None:
            raise Unprocessable(f"{name} cannot be null", field=name)
    merged = {
        n: values.get(n, getattr(license_, n)) for n in ("seats", "term_start", "term_end", "allocations")
    }
    _check(merged["seats"], merged["term_start"], merged["term_end"], merged["allocations"] or {})
    for name, value in values.items():
        setattr(license_, name, value)
    await session.flush()
    tool = await get_tool(session, district_id=district_id, tool_id=license_.tool_id)
    await recompute_cost_point(session, tool=tool, limit=cost_limit)
    await _publish(session, license_)
    return license_
