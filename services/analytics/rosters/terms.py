"""The term containing a date: the district's imported academic sessions, else its anchored window.

Every figure "per term" asks here (the teacher-utilization dashboard's current term, the signals'
last completed window). Rules:
- a day covered by academic sessions of type `term` or `semester` (OneRoster academicSessions.csv)
  is in the shortest covering session, a `term` before a `semester` of the same length (then the
  earliest start, then the sourcedId, so the answer never depends on row order);
- otherwise it is in the district's evaluation window: `evaluation_window_days` long, anchored at
  `window_anchor` (the district settings).
Session end dates are exclusive, as the OneRoster CSV bindings define `endDate`; a `Term` carries
inclusive dates like every date range of the dashboards.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from services.analytics.district.schemas import DistrictSettingsRead
from services.analytics.rosters.repository import RosterRepository
from services.analytics.rosters.vocabulary import TERM_TYPES

DAY = dt.timedelta(days=1)


@dataclass(frozen=True)
class Term:
    """A term: inclusive first and last day, and the academic session it is (None: the window)."""

    start: dt.date
    end: dt.date
    session_id: str | None = None
    title: str | None = None


def anchored_window(settings: DistrictSettingsRead, day: dt.date) -> Term:
    """The evaluation window containing `day`: anchored, `evaluation_window_days` long."""
    days = settings.evaluation_window_days
    n = (day - settings.window_anchor).days // days
    start = settings.window_anchor + dt.timedelta(days=n * days)
    return Term(start=start, end=start + dt.timedelta(days=days - 1))


async def term_containing(
    session: AsyncSession, *, district_id: str, settings: DistrictSettingsRead, day: dt.date
) -> Term:
    """The term containing `day`: the shortest covering term/semester session, else the window."""
    covering = await RosterRepository(session).covering_sessions(district_id, day, TERM_TYPES)
    if not covering:
        return anchored_window(settings, day)
    best = min(
        covering,
        key=lambda s: (s.end_date - s.start_date, TERM_TYPES.index(s.type), s.start_date, s.sourced_id),
    )
    return Term(start=best.start_date, end=best.end_date - DAY, session_id=best.sourced_id, title=best.title)


async def last_completed_term(
    session: AsyncSession, *, district_id: str, settings: DistrictSettingsRead, as_of: dt.date
) -> Term | None:
    """The term that ended last before `as_of` (None before the first anchored window has ended)."""
    term = await term_containing(session, district_id=district_id, settings=settings, day=as_of - DAY)
    if term.end >= as_of:
        term = await term_containing(
            session, district_id=district_id, settings=settings, day=term.start - DAY
        )
    if term.end >= as_of or (term.session_id is None and term.start < settings.window_anchor):
        return None
    return term
