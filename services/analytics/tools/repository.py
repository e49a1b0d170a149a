"""Queries on the catalog tool copy (names, statuses, districts) and the error rollups of events."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Collection
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from services.analytics.models import ErrorDaily, RosterUser, ToolInfo, UsageDaily
from shared.db import on_postgresql, utcnow


class ToolRepository:
    """Tool info and error rollups of one session."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.dialect: Any = postgresql if on_postgresql(session) else sqlite

    async def districts_of(self, tool_ids: Collection[str]) -> dict[str, set[str]]:
        """The districts whose copy holds each of `tool_ids` (ids the copy does not know are absent)."""
        if not tool_ids:
            return {}
        rows = await self.session.execute(
            select(ToolInfo.tool_id, ToolInfo.district_id).where(ToolInfo.tool_id.in_(list(tool_ids)))
        )
        out: dict[str, set[str]] = defaultdict(set)
        for tool_id, district_id in rows:
            out[tool_id].add(district_id)
        return dict(out)

    async def teachers_using(
        self, *, district_id: str, tool_id: str, since: dt.date
    ) -> list[tuple[str, str | None, dt.date]]:
        """(teacher id, roster email, last day of use) of rostered teachers who used a tool since a day."""
        rows = await self.session.execute(
            select(UsageDaily.user_id, RosterUser.email, func.max(UsageDaily.day))
            .join(
                RosterUser,
                (RosterUser.district_id == UsageDaily.district_id)
                & (RosterUser.sourced_id == UsageDaily.user_id),
            )
            .where(
                UsageDaily.district_id == district_id,
                UsageDaily.tool_id == tool_id,
                UsageDaily.day >= since,
                RosterUser.role == "teacher",
            )
            .group_by(UsageDaily.user_id, RosterUser.email)
            .order_by(UsageDaily.user_id)
        )
        return [(user, email, last) for user, email, last in rows.all()]

    async def upsert_tool(
        self, *, district_id: str, tool_id: str, name: str, status: str, adopted_on: dt.date | None
    ) -> None:
        """Insert or update a tool's name and status; the first adoption day stays once known."""
        table: Any = ToolInfo.__table__
        stmt = self.dialect.insert(table).values(
            district_id=district_id,
            tool_id=tool_id,
            name=name,
            status=status,
            adopted_on=adopted_on,
            updated_at=utcnow(),
        )
        await self.session.execute(
            stmt.on_conflict_do_update(
                index_elements=["district_id", "tool_id"],
                set_={
                    "name": stmt.excluded.name,
                    "status": stmt.excluded.status,
                    "adopted_on": func.coalesce(table.c.adopted_on, stmt.excluded.adopted_on),
                    "updated_at": stmt.excluded.updated_at,
                },
            )
        )

    async def count_error(self, *, district_id: str, tool_id: str, day: dt.date, severity: str) -> None:
        """Add one error to the tool's day and severity."""
        table: Any = ErrorDaily.__table__
        stmt = self.dialect.insert(table).values(
            district_id=district_id,
            tool_id=tool_id,
            day=day,
            severity=severity,
            week=day - dt.timedelta(days=day.weekday()),
            month=day.replace(day=1),
            errors=1,
        )
        await self.session.execute(
            stmt.on_conflict_do_update(
                index_elements=["district_id", "tool_id", "day", "severity"],
                set_={"errors": table.c.errors + 1},
            )
        )
