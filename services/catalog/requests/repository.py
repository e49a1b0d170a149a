"""Queries on tool requests; the only place their SQL lives."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.catalog.models import Tool, ToolRequest


class ToolRequestRepository:
    """Tool requests of one session, always scoped to a district."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, request: ToolRequest) -> ToolRequest:
        """Stage a new request."""
        self.session.add(request)
        await self.session.flush()
        return request

    async def get(
        self, *, district_id: str, request_id: uuid.UUID, requested_by: str | None
    ) -> tuple[ToolRequest, Tool] | None:
        """A district's request with its tool (only the requester's own when `requested_by` is given)."""
        stmt = (
            select(ToolRequest, Tool)
            .join(Tool, Tool.id == ToolRequest.tool_id)
            .where(ToolRequest.id == request_id, ToolRequest.district_id == district_id)
        )
        if requested_by is not None:
            stmt = stmt.where(ToolRequest.requested_by == requested_by)
        row = (await self.session.execute(stmt)).one_or_none()
        return None if row is None else (row[0], row[1])

    async def list(
        self, *, district_id: str, requested_by: str | None, limit: int, offset: int
    ) -> tuple[Sequence[tuple[ToolRequest, Tool]], int]:
        """A page of a district's requests with their tools, newest first."""
        where = [ToolRequest.district_id == district_id]
        if requested_by is not None:
            where.append(ToolRequest.requested_by == requested_by)
        total = await self.session.scalar(select(func.count()).select_from(ToolRequest).where(*where))
        rows = await self.session.execute(
            select(ToolRequest, Tool)
            .join(Tool, Tool.id == ToolRequest.tool_id)
            .where(*where)
            .order_by(ToolRequest.created_at.desc(), ToolRequest.id)
            .limit(limit)
            .offset(offset)
        )
        return [(r, t) for r, t in rows], int(total or 0)
