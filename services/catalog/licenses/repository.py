"""Queries on licenses; the only place their SQL lives."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.catalog.models import License, Tool


class LicenseRepository:
    """Licenses of one session, always scoped to a district."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(
        self, *, district_id: str, license_id: uuid.UUID, for_update: bool = False
    ) -> License | None:
        """A district's license by id, or None."""
        stmt = select(License).where(License.id == license_id, License.district_id == district_id)
        if for_update:
            stmt = stmt.with_for_update()
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def current_for_tool(self, *, tool_id: uuid.UUID) -> License | None:
        """The license that prices a tool: the one whose term ends last (latest created on ties)."""
        return (
            await self.session.execute(
                select(License)
                .where(License.tool_id == tool_id)
                .order_by(License.term_end.desc(), License.created_at.desc())
                .limit(1)
            )
        ).scalar_one_or_none()

    async def tool_ids_with_licenses(self, *, district_id: str) -> Sequence[uuid.UUID]:
        """Tools of a district that have at least one license."""
        return (
            await self.session.scalars(
                select(License.tool_id).where(License.district_id == district_id).distinct()
            )
        ).all()

    async def list(
        self, *, district_id: str, tool_id: uuid.UUID | None, limit: int, offset: int
    ) -> tuple[Sequence[License], int]:
        """A page of a district's licenses (of one tool if given), latest term first."""
        where = [License.district_id == district_id]
        if tool_id is not None:
            where.append(License.tool_id == tool_id)
        total = await self.session.scalar(select(func.count()).select_from(License).where(*where))
        rows = await self.session.scalars(
            select(License)
            .where(*where)
            .order_by(License.term_end.desc(), License.id)
            .limit(limit)
            .offset(offset)
        )
        return rows.all(), int(total or 0)

    async def renewals(
        self, *, district_id: str, start: dt.date, end: dt.date, limit: int, offset: int
    ) -> tuple[Sequence[tuple[License, str]], int]:
        """Licenses renewing between `start` and `end` (inclusive), soonest first, with their tool's name."""
        where = [
            License.district_id == district_id,
            License.renewal_date.is_not(None),
            License.renewal_date >= start,
            License.renewal_date <= end,
        ]
        total = await self.session.scalar(select(func.count()).select_from(License).where(*where))
        rows = await self.session.execute(
            select(License, Tool.name)
            .join(Tool, Tool.id == License.tool_id)
            .where(*where)
            .order_by(License.renewal_date, License.id)
            .limit(limit)
            .offset(offset)
        )
        return [(lic, name) for lic, name in rows], int(total or 0)

    async def add(self, license_: License) -> License:
        """Stage a new license."""
        self.session.add(license_)
        await self.session.flush()
        return license_
