"""Queries on flags and retirements; the only place their SQL lives."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.catalog.models import Retirement, ToolFlag


class SunsettingRepository:
    """Flags and retirements of one session."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, row: ToolFlag | Retirement) -> None:
        """Stage a new flag or retirement."""
        self.session.add(row)
        await self.session.flush()

    async def flags(
        self, *, district_id: str, tool_id: uuid.UUID, limit: int, offset: int
    ) -> tuple[Sequence[ToolFlag], int]:
        """A page of a tool's flags, newest first, and the total."""
        where = [ToolFlag.district_id == district_id, ToolFlag.tool_id == tool_id]
        total = await self.session.scalar(select(func.count()).select_from(ToolFlag).where(*where))
        rows = await self.session.scalars(
            select(ToolFlag)
            .where(*where)
            .order_by(ToolFlag.created_at.desc(), ToolFlag.id)
            .limit(limit)
            .offset(offset)
        )
        return rows.all(), int(total or 0)

    async def flag(self, *, district_id: str, tool_id: uuid.UUID, flag_id: uuid.UUID) -> ToolFlag | None:
        """One flag of a district's tool, or None."""
        return (
            await self.session.execute(
                select(ToolFlag).where(
                    ToolFlag.id == flag_id,
                    ToolFlag.tool_id == tool_id,
                    ToolFlag.district_id == district_id,
                )
            )
        ).scalar_one_or_none()

    async def latest_open_flag(self, *, tool_id: uuid.UUID, source: str) -> ToolFlag | None:
        """The newest unresolved flag of a tool from `source`."""
        return (
            await self.session.execute(
                select(ToolFlag)
                .where(
                    ToolFlag.tool_id == tool_id,
                    ToolFlag.source == source,
                    ToolFlag.resolved_at.is_(None),
                )
                .order_by(ToolFlag.created_at.desc())
                .limit(1)
            )
        ).scalar_one_or_none()

    async def open_flags(
        self, *, district_id: str, kind: str, limit: int, offset: int
    ) -> tuple[Sequence[ToolFlag], int]:
        """A page of a district's unresolved flags of one kind, newest first."""
        where = [ToolFlag.district_id == district_id, ToolFlag.kind == kind, ToolFlag.resolved_at.is_(None)]
        total = await self.session.scalar(select(func.count()).select_from(ToolFlag).where(*where))
        rows = await self.session.scalars(
            select(ToolFlag)
            .where(*where)
            .order_by(ToolFlag.created_at.desc(), ToolFlag.id)
            .limit(limit)
            .offset(offset)
        )
        return rows.all(), int(total or 0)

    async def district_flags(
        self,
        *,
        district_id: str,
        open_only: bool | None,
        kind: str | None,
        tool_id: uuid.UUID | None,
        limit: int,
        offset: int,
    ) -> tuple[Sequence[ToolFlag], int]:
        """A page of the district's flags, newest first, and the total: open ones (`open_only` True),
        resolved ones (False) or both (None), of one kind and one tool when given."""
        where = [ToolFlag.district_id == district_id]
        if open_only is not None:
            where.append(ToolFlag.resolved_at.is_(None) if open_only else ToolFlag.resolved_at.is_not(None))
        if kind is not None:
            where.append(ToolFlag.kind == kind)
        if tool_id is not None:
            where.append(ToolFlag.tool_id == tool_id)
        total = await self.session.scalar(select(func.count()).select_from(ToolFlag).where(*where))
        rows = await self.session.scalars(
            select(ToolFlag)
            .where(*where)
            .order_by(ToolFlag.created_at.desc(), ToolFlag.id)
            .limit(limit)
            .offset(offset)
        )
        return rows.all(), int(total or 0)

    async def resolve_flags(self, *, tool_id: uuid.UUID, at: dt.datetime) -> None:
        """Resolve every open flag of a tool."""
        await self.session.execute(
            update(ToolFlag)
            .where(ToolFlag.tool_id == tool_id, ToolFlag.resolved_at.is_(None))
            .values(resolved_at=at)
        )

    async def scheduled_retirement(self, *, district_id: str, tool_id: uuid.UUID) -> Retirement | None:
        """The tool's retirement still in notice, or None."""
        return (
            await self.session.execute(
                select(Retirement).where(
                    Retirement.district_id == district_id,
                    Retirement.tool_id == tool_id,
                    Retirement.status == "scheduled",
                )
            )
        ).scalar_one_or_none()

    async def latest_retirement(self, *, district_id: str, tool_id: uuid.UUID) -> Retirement | None:
        """The tool's most recent retirement record, or None."""
        return (
            await self.session.execute(
                select(Retirement)
                .where(
                    Retirement.district_id == district_id,
                    Retirement.tool_id == tool_id,
                )
                .order_by(Retirement.notice_starts_at.desc())
                .limit(1)
            )
        ).scalar_one_or_none()

    async def due_retirements(self, *, now: dt.datetime, district_id: str | None) -> Sequence[Retirement]:
        """Scheduled retirements whose notice has ended by `now` (all districts unless one is given)."""
        stmt = select(Retirement).where(Retirement.status == "scheduled", Retirement.notice_ends_at <= now)
        if district_id is not None:
            stmt = stmt.where(Retirement.district_id == district_id)
        return (await self.session.scalars(stmt.order_by(Retirement.notice_ends_at).with_for_update())).all()
