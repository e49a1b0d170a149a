"""Queries on pilots, their teachers and lifecycle history; the only place their SQL lives."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.pilots.models import Pilot, PilotTeacher, PilotTransition


class PilotRepository:
    """Pilots of one session, always scoped to a district."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, *, district_id: str, pilot_id: uuid.UUID, for_update: bool = False) -> Pilot | None:
        """A district's pilot by id, or None (also for another district's id)."""
        stmt = select(Pilot).where(Pilot.id == pilot_id, Pilot.district_id == district_id)
        if for_update:
            stmt = stmt.with_for_update()
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def page(
        self,
        *,
        district_id: str,
        status: str | None,
        tool_id: uuid.UUID | None,
        teacher_id: str | None,
        limit: int,
        offset: int,
    ) -> tuple[Sequence[Pilot], int]:
        """A page of a district's pilots, newest first, and the total matching."""
        where = [Pilot.district_id == district_id]
        if status:
            where.append(Pilot.status == status)
        if tool_id:
            where.append(Pilot.tool_id == tool_id)
        if teacher_id:
            where.append(
                Pilot.id.in_(select(PilotTeacher.pilot_id).where(PilotTeacher.teacher_id == teacher_id))
            )
        total = await self.session.scalar(select(func.count()).select_from(Pilot).where(*where))
        rows = await self.session.scalars(
            select(Pilot)
            .where(*where)
            .order_by(Pilot.created_at.desc(), Pilot.id)
            .limit(limit)
            .offset(offset)
        )
        return rows.all(), int(total or 0)

    async def count_running(self, *, district_id: str, tool_id: uuid.UUID) -> int:
        """How many of a tool's pilots are running (active or being evaluated)."""
        total = await self.session.scalar(
            select(func.count())
            .select_from(Pilot)
            .where(
                Pilot.district_id == district_id,
                Pilot.tool_id == tool_id,
                Pilot.status.in_(("active", "evaluating")),
            )
        )
        return int(total or 0)

    async def add(self, pilot: Pilot, teacher_ids: Sequence[str]) -> Pilot:
        """Stage a new pilot with its teachers."""
        self.session.add(pilot)
        await self.session.flush()
        self.session.add_all(
            [
                PilotTeacher(pilot_id=pilot.id, teacher_id=t, district_id=pilot.district_id, position=i)
                for i, t in enumerate(teacher_ids)
            ]
        )
        await self.session.flush()
        return pilot

    async def teacher_ids(self, *, pilot_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[str]]:
        """The teachers of each pilot, in the order the plan named them."""
        rows = await self.session.execute(
            select(PilotTeacher.pilot_id, PilotTeacher.teacher_id)
            .where(PilotTeacher.pilot_id.in_(pilot_ids))
            .order_by(PilotTeacher.pilot_id, PilotTeacher.position)
        )
        out: dict[uuid.UUID, list[str]] = defaultdict(list)
        for pilot_id, teacher_id in rows:
            out[pilot_id].append(teacher_id)
        return out

    async def add_transition(self, transition: PilotTransition) -> None:
        """Stage a lifecycle move."""
        self.session.add(transition)
        await self.session.flush()

    async def transitions(self, *, pilot_id: uuid.UUID) -> Sequence[PilotTransition]:
        """A pilot's lifecycle history, oldest first."""
        rows = await self.session.scalars(
            select(PilotTransition).where(PilotTransition.pilot_id == pilot_id).order_by(PilotTransition.at)
        )
        return rows.all()
