"""Queries on rubrics and evaluations; the only place their SQL lives."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.catalog.models import Evaluation, Rubric, Tool


class RubricRepository:
    """Rubrics and evaluations of one session, always scoped to a district."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, *, district_id: str, rubric_id: uuid.UUID) -> Rubric | None:
        """A district's rubric, or None."""
        return (
            await self.session.execute(
                select(Rubric).where(Rubric.id == rubric_id, Rubric.district_id == district_id)
            )
        ).scalar_one_or_none()

    async def by_name(self, *, district_id: str, name: str) -> Rubric | None:
        """A district's rubric by name, or None."""
        return (
            await self.session.execute(
                select(Rubric).where(Rubric.district_id == district_id, Rubric.name == name)
            )
        ).scalar_one_or_none()

    async def list(self, *, district_id: str, limit: int, offset: int) -> tuple[Sequence[Rubric], int]:
        """A page of a district's rubrics by name."""
        where = [Rubric.district_id == district_id]
        total = await self.session.scalar(select(func.count()).select_from(Rubric).where(*where))
        rows = await self.session.scalars(
            select(Rubric).where(*where).order_by(Rubric.name, Rubric.id).limit(limit).offset(offset)
        )
        return rows.all(), int(total or 0)

    async def add(self, row: Rubric | Evaluation) -> None:
        """Stage a new rubric or evaluation."""
        self.session.add(row)
        await self.session.flush()

    async def evaluations(
        self, *, district_id: str, tool_id: uuid.UUID, limit: int, offset: int
    ) -> tuple[Sequence[Evaluation], int]:
        """A page of a tool's evaluations, newest first."""
        where = [Evaluation.district_id == district_id, Evaluation.tool_id == tool_id]
        total = await self.session.scalar(select(func.count()).select_from(Evaluation).where(*where))
        rows = await self.session.scalars(
            select(Evaluation)
            .where(*where)
            .order_by(Evaluation.created_at.desc(), Evaluation.id)
            .limit(limit)
            .offset(offset)
        )
        return rows.all(), int(total or 0)

    async def comparison(
        self, *, district_id: str, rubric_id: uuid.UUID, tool_ids: Sequence[uuid.UUID]
    ) -> Sequence[tuple[Evaluation, str]]:
        """Evaluations against a rubric (of the given tools, if any) with tool names, best total first."""
        stmt = (
            select(Evaluation, Tool.name)
            .join(Tool, Tool.id == Evaluation.tool_id)
            .where(Evaluation.district_id == district_id, Evaluation.rubric_id == rubric_id)
        )
        if tool_ids:
            stmt = stmt.where(Evaluation.tool_id.in_(list(tool_ids)))
        rows = await self.session.execute(
            stmt.order_by(Evaluation.weighted_total.desc(), Evaluation.created_at)
        )
        return [(e, n) for e, n in rows]
