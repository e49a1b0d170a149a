"""Queries on reported tool errors; the only place their SQL lives."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.catalog.models import ToolError


class ToolErrorRepository:
    """Reported errors of one session."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def exists(self, *, district_id: str, error_id: uuid.UUID) -> bool:
        """Whether this error was already recorded."""
        return (
            await self.session.scalar(
                select(ToolError.id).where(
                    ToolError.district_id == district_id, ToolError.error_id == error_id
                )
            )
            is not None
        )

    async def add(self, error: ToolError) -> None:
        """Stage a reported error."""
        self.session.add(error)
        await self.session.flush()

    async def by_severity(self, *, tool_id: uuid.UUID) -> dict[str, int]:
        """Error counts of a tool per severity."""
        rows = await self.session.execute(
            select(ToolError.severity, func.count())
            .where(ToolError.tool_id == tool_id)
            .group_by(ToolError.severity)
        )
        return {severity: int(count) for severity, count in rows}

    async def by_class_period(self, *, tool_id: uuid.UUID) -> dict[str, int]:
        """Error counts of a tool per class period (where one was given)."""
        rows = await self.session.execute(
            select(ToolError.class_period, func.count())
            .where(ToolError.tool_id == tool_id, ToolError.class_period.is_not(None))
            .group_by(ToolError.class_period)
        )
        return {str(period): int(count) for period, count in rows}

    async def last_error_at(self, *, tool_id: uuid.UUID) -> dt.datetime | None:
        """When the tool's latest reported error occurred."""
        return await self.session.scalar(
            select(func.max(ToolError.occurred_at)).where(ToolError.tool_id == tool_id)
        )
