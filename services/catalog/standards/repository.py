"""Queries on standards alignments; the only place their SQL lives."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.catalog.models import StandardAlignment


class StandardRepository:
    """Alignments of one session."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def list(
        self, *, tool_id: uuid.UUID, limit: int, offset: int
    ) -> tuple[Sequence[StandardAlignment], int]:
        """A page of a tool's alignments by framework and code, and the total."""
        rows = await self.session.scalars(
            select(StandardAlignment)
            .where(StandardAlignment.tool_id == tool_id)
            .order_by(StandardAlignment.framework, StandardAlignment.code, StandardAlignment.id)
            .limit(limit)
            .offset(offset)
        )
        return rows.all(), await self.count(tool_id=tool_id)

    async def count(self, *, tool_id: uuid.UUID) -> int:
        """How many alignments a tool has."""
        return int(
            await self.session.scalar(
                select(func.count())
                .select_from(StandardAlignment)
                .where(StandardAlignment.tool_id == tool_id)
            )
            or 0
        )

    async def find(
        self, *, tool_id: uuid.UUID, framework: str, code: str, jurisdiction: str
    ) -> StandardAlignment | None:
        """The same alignment if already recorded."""
        return (
            await self.session.execute(
                select(StandardAlignment).where(
                    StandardAlignment.tool_id == tool_id,
                    StandardAlignment.framework == framework,
                    StandardAlignment.code == code,
                    StandardAlignment.jurisdiction == jurisdiction,
                )
            )
        ).scalar_one_or_none()

    async def get(
        self, *, district_id: str, tool_id: uuid.UUID, alignment_id: uuid.UUID
    ) -> StandardAlignment | None:
        """One alignment of a district's tool, or None."""
        return (
            await self.session.execute(
                select(StandardAlignment).where(
                    StandardAlignment.id == alignment_id,
                    StandardAlignment.tool_id == tool_id,
                    StandardAlignment.district_id == district_id,
                )
            )
        ).scalar_one_or_none()

    async def add(self, alignment: StandardAlignment) -> StandardAlignment:
        """Stage a new alignment."""
        self.session.add(alignment)
        await self.session.flush()
        return alignment

    async def delete(self, alignment: StandardAlignment) -> None:
        """Remove an alignment."""
        await self.session.delete(alignment)
        await self.session.flush()
