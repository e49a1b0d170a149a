"""Queries on district inputs: settings, licenses, baselines, TAM responses."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from services.analytics.models import DistrictSetting, License, SubmissionBaseline, TamResponse
from shared.db import insert_ignoring_conflicts, on_postgresql

# A queued event's day was cut when it was appended; a new time zone cuts it again from the event's
# moment, with counting's own definition of a day (`analytics.local_day` / SQLite's `local_day`).
_REDATE_PENDING = {
    "postgresql": text(
        "UPDATE analytics.usage_pending p SET day = analytics.local_day(k.occurred_at, k.district_id) "
        "FROM analytics.usage_event_key k "
        "WHERE p.district_id = :d AND k.district_id = p.district_id AND k.event_id = p.event_id"
    ),
    "sqlite": text(
        "UPDATE analytics.usage_pending SET day = (SELECT local_day(e.occurred_at, :tz) "
        "FROM analytics.usage_event e WHERE e.district_id = usage_pending.district_id "
        "AND e.event_id = usage_pending.event_id) WHERE district_id = :d"
    ),
}


class DistrictRepository:
    """District inputs of one session."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def settings(self, district_id: str) -> DistrictSetting | None:
        """The district's overrides, if any."""
        return await self.session.get(DistrictSetting, district_id)

    async def license(self, district_id: str, tool_id: str) -> License | None:
        """A tool's license."""
        return await self.session.get(License, (district_id, tool_id))

    async def licenses(self, district_id: str, tool_id: str | None = None) -> Sequence[License]:
        """The district's licenses, by tool."""
        stmt = select(License).where(License.district_id == district_id)
        if tool_id:
            stmt = stmt.where(License.tool_id == tool_id)
        return (await self.session.scalars(stmt.order_by(License.tool_id))).all()

    async def baseline(self, district_id: str, subject: str) -> SubmissionBaseline | None:
        """A subject's paper baseline."""
        return await self.session.get(SubmissionBaseline, (district_id, subject))

    async def baselines(self, district_id: str) -> Sequence[SubmissionBaseline]:
        """Every paper baseline of the district."""
        stmt = select(SubmissionBaseline).where(SubmissionBaseline.district_id == district_id)
        return (await self.session.scalars(stmt.order_by(SubmissionBaseline.subject))).all()

    async def tam_responses(
        self, district_id: str, *, start: dt.datetime, end: dt.datetime, tool_id: str | None = None
    ) -> Sequence[TamResponse]:
        """TAM answers in [start, end), oldest first."""
        stmt = select(TamResponse).where(
            TamResponse.district_id == district_id,
            TamResponse.responded_at >= start,
            TamResponse.responded_at < end,
        )
        if tool_id:
            stmt = stmt.where(TamResponse.tool_id == tool_id)
        return (await self.session.scalars(stmt.order_by(TamResponse.responded_at))).all()

    async def add_tam_answer(self, values: dict[str, Any]) -> None:
        """Insert a TAM answer unless this pilot's teacher already answered that phase (a replay)."""
        await self.session.execute(
            insert_ignoring_conflicts(
                self.session,
                TamResponse.__table__,  # type: ignore[arg-type]
                [values],
                index_elements=["district_id", "pilot_id", "respondent_id", "phase"],
            )
        )

    async def redate_pending(self, district_id: str, time_zone: str) -> int:
        """Cut again the day of the district's events not yet counted, in `time_zone` (its zone now)."""
        dialect = "postgresql" if on_postgresql(self.session) else "sqlite"
        result: Any = await self.session.execute(
            _REDATE_PENDING[dialect], {"d": district_id, "tz": time_zone}
        )
        return int(result.rowcount or 0)

    async def add(self, row: DistrictSetting | License | SubmissionBaseline) -> None:
        """Stage a new row."""
        self.session.add(row)
        await self.session.flush()
