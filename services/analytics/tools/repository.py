"""Writes of consumed catalog and pilot events: tool names/statuses and error counts."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from services.analytics.models import ErrorDaily, ToolInfo
from shared.db import on_postgresql, utcnow


class ToolRepository:
    """Tool info and error rollups of one session."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.dialect: Any = postgresql if on_postgresql(session) else sqlite

    async def upsert_tool(self, *, district_id: str, tool_id: str, name: str, status: str) -> None:
        """Insert or update a tool's name and status."""
        table: Any = ToolInfo.__table__
        stmt = self.dialect.insert(table).values(
            district_id=district_id, tool_id=tool_id, name=name, status=status, updated_at=utcnow()
        )
        await self.session.execute(
            stmt.on_conflict_do_update(
                index_elements=["district_id", "tool_id"],
                set_={
                    "name": stmt.excluded.name,
                    "status": stmt.excluded.status,
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
