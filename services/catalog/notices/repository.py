"""Queries on retirement notices; the only place their SQL lives."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence

from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.catalog.models import Retirement, RetirementNotice, Tool


class NoticeRepository:
    """Notices of one session."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add_all(self, notices: Sequence[RetirementNotice]) -> None:
        """Stage new notices."""
        self.session.add_all(notices)
        await self.session.flush()

    async def of_retirement(self, *, retirement_id: uuid.UUID, kind: str) -> Sequence[RetirementNotice]:
        """A retirement's notices of one kind."""
        rows = await self.session.scalars(
            select(RetirementNotice).where(
                RetirementNotice.retirement_id == retirement_id, RetirementNotice.kind == kind
            )
        )
        return rows.all()

    async def claim_pending(
        self, *, limit: int, max_attempts: int, stale_before: dt.datetime
    ) -> Sequence[RetirementNotice]:
        """The oldest notices to send (pending, or left `sending` since before `stale_before`), locked
        for this transaction (others skip them)."""
        n = RetirementNotice
        rows = await self.session.scalars(
            select(n)
            .where(
                or_(n.status == "pending", (n.status == "sending") & (n.sending_at < stale_before)),
                n.attempts < max_attempts,
            )
            .order_by(n.created_at, n.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return rows.all()

    async def fail_interrupted(self, *, max_attempts: int, stale_before: dt.datetime, error: str) -> None:
        """Mark failed the notices left `sending` since before `stale_before` with no try left."""
        n = RetirementNotice
        await self.session.execute(
            update(n)
            .where(n.status == "sending", n.sending_at < stale_before, n.attempts >= max_attempts)
            .values(status="failed", last_error=error)
        )

    async def get_for_update(self, notice_id: uuid.UUID) -> RetirementNotice | None:
        """A notice, locked for this transaction."""
        return await self.session.get(RetirementNotice, notice_id, with_for_update=True)

    async def page(
        self,
        *,
        district_id: str,
        teacher_id: str | None,
        tool_id: uuid.UUID | None,
        limit: int,
        offset: int,
    ) -> tuple[Sequence[tuple[RetirementNotice, Retirement, Tool]], int]:
        """A page of the district's notices (of one teacher, of one tool), newest first, and the total."""
        where = [RetirementNotice.district_id == district_id]
        if teacher_id is not None:
            where.append(RetirementNotice.teacher_id == teacher_id)
        if tool_id is not None:
            where.append(RetirementNotice.tool_id == tool_id)
        total = await self.session.scalar(select(func.count()).select_from(RetirementNotice).where(*where))
        rows = await self.session.execute(
            select(RetirementNotice, Retirement, Tool)
            .join(Retirement, Retirement.id == RetirementNotice.retirement_id)
            .join(Tool, Tool.id == RetirementNotice.tool_id)
            .where(*where)
            .order_by(RetirementNotice.created_at.desc(), RetirementNotice.id)
            .limit(limit)
            .offset(offset)
        )
        return [(n, r, t) for n, r, t in rows.all()], int(total or 0)
