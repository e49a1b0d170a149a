"""Queries on coaching cycles and steps; the only place their SQL lives."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.pilots.models import CoachingCycle, CoachingStep


class CoachingRepository:
    """Coaching cycles of one district."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, cycle: CoachingCycle, steps: Sequence[CoachingStep]) -> CoachingCycle:
        """Stage a cycle with its steps."""
        self.session.add(cycle)
        await self.session.flush()
        for step in steps:
            step.cycle_id = cycle.id
        self.session.add_all(steps)
        await self.session.flush()
        return cycle

    async def get(
        self, *, district_id: str, pilot_id: uuid.UUID, cycle_id: uuid.UUID
    ) -> CoachingCycle | None:
        """A cycle of the pilot, or None."""
        return (
            await self.session.execute(
                select(CoachingCycle).where(
                    CoachingCycle.id == cycle_id,
                    CoachingCycle.pilot_id == pilot_id,
                    CoachingCycle.district_id == district_id,
                )
            )
        ).scalar_one_or_none()

    async def page(
        self, *, district_id: str, pilot_id: uuid.UUID, teacher_id: str | None, limit: int, offset: int
    ) -> tuple[Sequence[CoachingCycle], int]:
        """A page of a pilot's cycles by start date, and the total."""
        where = [CoachingCycle.district_id == district_id, CoachingCycle.pilot_id == pilot_id]
        if teacher_id:
            where.append(CoachingCycle.teacher_id == teacher_id)
        total = await self.session.scalar(select(func.count()).select_from(CoachingCycle).where(*where))
        rows = await self.session.scalars(
            select(CoachingCycle)
            .where(*where)
            .order_by(CoachingCycle.start_date, CoachingCycle.created_at)
            .limit(limit)
            .offset(offset)
        )
        return rows.all(), int(total or 0)

    async def steps(self, *, cycle_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[CoachingStep]]:
        """Each cycle's steps in order."""
        rows = await self.session.scalars(
            select(CoachingStep).where(CoachingStep.cycle_id.in_(cycle_ids)).order_by(CoachingStep.position)
        )
        out: dict[uuid.UUID, list[CoachingStep]] = defaultdict(list)
        for step in rows:
            out[step.cycle_id].append(step)
        return out
