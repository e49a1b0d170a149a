"""Queries on the local tool copy; the only place their SQL lives."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.pilots.models import Tool


class ToolRepository:
    """Tools known to pilots, always scoped to a district."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, *, district_id: str, tool_id: uuid.UUID, for_update: bool = False) -> Tool | None:
        """A district's tool by id, or None."""
        stmt = select(Tool).where(Tool.id == tool_id, Tool.district_id == district_id)
        if for_update:
            stmt = stmt.with_for_update()
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def districts_of(self, *, tool_id: uuid.UUID) -> set[str]:
        """The districts whose copy holds `tool_id` (for `shared.ownership`; at most one here)."""
        return set(await self.session.scalars(select(Tool.district_id).where(Tool.id == tool_id)))

    async def page(
        self, *, district_id: str, status: str | None, limit: int, offset: int
    ) -> tuple[Sequence[Tool], int]:
        """A page of a district's tools by name, and the total matching."""
        where = [Tool.district_id == district_id]
        if status:
            where.append(Tool.status == status)
        total = await self.session.scalar(select(func.count()).select_from(Tool).where(*where))
        rows = await self.session.scalars(
            select(Tool).where(*where).order_by(Tool.name, Tool.id).limit(limit).offset(offset)
        )
        return rows.all(), int(total or 0)

    async def add(self, tool: Tool) -> Tool:
        """Stage a new tool copy."""
        self.session.add(tool)
        await self.session.flush()
        return tool
