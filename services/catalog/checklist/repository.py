"""Queries on checklist points; the only place their SQL lives."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.catalog.models import ChecklistItem


class ChecklistRepository:
    """Checklist points of one session."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def by_point(self, *, tool_id: uuid.UUID) -> dict[str, ChecklistItem]:
        """A tool's recorded points by point name."""
        rows = await self.session.scalars(select(ChecklistItem).where(ChecklistItem.tool_id == tool_id))
        return {row.point: row for row in rows}

    async def add(self, item: ChecklistItem) -> ChecklistItem:
        """Stage a newly recorded point."""
        self.session.add(item)
        await self.session.flush()
        return item
