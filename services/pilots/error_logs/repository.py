"""Queries on error logs; the only place their SQL lives."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.pilots.models import ErrorLog


class ErrorLogRepository:
    """Error logs of one district."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, log: ErrorLog) -> ErrorLog:
        """Stage a new error log."""
        self.session.add(log)
        await self.session.flush()
        return log

    async def page(
        self,
        *,
        district_id: str,
        pilot_id: uuid.UUID | None = None,
        tool_id: uuid.UUID | None = None,
        teacher_id: str | None,
        severity: str | None,
        limit: int,
        offset: int,
    ) -> tuple[Sequence[ErrorLog], int]:
        """A page of a pilot's (or a tool's) error logs, newest first, and the total."""
        where = [ErrorLog.district_id == district_id]
        if pilot_id is not None:
            where.append(ErrorLog.pilot_id == pilot_id)
        if tool_id is not None:
            where.append(ErrorLog.tool_id == tool_id)
        if teacher_id:
            where.append(ErrorLog.teacher_id == teacher_id)
        if severity:
            where.append(ErrorLog.severity == severity)
        total = await self.session.scalar(select(func.count()).select_from(ErrorLog).where(*where))
        rows = await self.session.scalars(
            select(ErrorLog)
            .where(*where)
            .order_by(ErrorLog.occurred_at.desc(), ErrorLog.id)
            .limit(limit)
            .offset(offset)
        )
        return rows.all(), int(total or 0)

    async def count(self, *, district_id: str, pilot_id: uuid.UUID) -> int:
        """How many errors a pilot logged."""
        return int(
            await self.session.scalar(
                select(func.count())
                .select_from(ErrorLog)
                .where(ErrorLog.district_id == district_id, ErrorLog.pilot_id == pilot_id)
            )
            or 0
        )

    async def occurrences(
        self,
        *,
        district_id: str,
        tool_id: uuid.UUID,
        pilot_id: uuid.UUID | None = None,
        since: dt.datetime | None = None,
        class_period: str | None = None,
    ) -> Sequence[tuple[str, dt.datetime]]:
        """(class period, occurred_at) of a tool's errors that name a period, oldest first."""
        where = [
            ErrorLog.district_id == district_id,
            ErrorLog.tool_id == tool_id,
            ErrorLog.class_period.is_not(None),
        ]
        if pilot_id:
            where.append(ErrorLog.pilot_id == pilot_id)
        if since:
            where.append(ErrorLog.occurred_at >= since)
        if class_period:
            where.append(ErrorLog.class_period == class_period)
        rows = await self.session.execute(
            select(ErrorLog.class_period, ErrorLog.occurred_at).where(*where).order_by(ErrorLog.occurred_at)
        )
        return [(str(p), at) for p, at in rows.all()]

    async def severities(self, *, district_id: str, pilot_id: uuid.UUID) -> list[str]:
        """The severity of each of a pilot's errors."""
        rows = await self.session.scalars(
            select(ErrorLog.severity).where(
                ErrorLog.district_id == district_id, ErrorLog.pilot_id == pilot_id
            )
        )
        return list(rows.all())
