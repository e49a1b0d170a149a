"""Queries on observation slots and observations; the only place their SQL lives."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.pilots.models import Observation, ObservationSlot, TimeOnTaskFall


def _status_expr(today: dt.date) -> Any:
    return case(
        (ObservationSlot.observation_id.is_not(None), "done"),
        (ObservationSlot.scheduled_on < today, "missed"),
        else_="due",
    )


class ObservationRepository:
    """Slots and observations of one district's pilots."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add_slots(self, slots: Sequence[ObservationSlot]) -> None:
        """Stage new slots."""
        self.session.add_all(slots)
        await self.session.flush()

    async def slots(
        self,
        *,
        district_id: str,
        pilot_id: uuid.UUID,
        teacher_id: str | None,
        status: str | None,
        today: dt.date,
        limit: int,
        offset: int,
    ) -> tuple[Sequence[tuple[ObservationSlot, str]], dict[str, int]]:
        """A page of a pilot's slots by date with their status as of `today`, and counts by status."""
        where = [ObservationSlot.district_id == district_id, ObservationSlot.pilot_id == pilot_id]
        if teacher_id:
            where.append(ObservationSlot.teacher_id == teacher_id)
        status_of = _status_expr(today)
        counts = {
            str(s): int(n)
            for s, n in await self.session.execute(
                select(status_of, func.count()).where(*where).group_by(status_of)
            )
        }
        if status:
            where.append(status_of == status)
        rows = await self.session.execute(
            select(ObservationSlot, status_of)
            .where(*where)
            .order_by(ObservationSlot.scheduled_on, ObservationSlot.teacher_id)
            .limit(limit)
            .offset(offset)
        )
        return [(slot, str(st)) for slot, st in rows.all()], counts

    async def get_slot(self, *, pilot_id: uuid.UUID, slot_id: uuid.UUID) -> ObservationSlot | None:
        """A slot of the pilot, or None."""
        return (
            await self.session.execute(
                select(ObservationSlot).where(
                    ObservationSlot.id == slot_id, ObservationSlot.pilot_id == pilot_id
                )
            )
        ).scalar_one_or_none()

    async def open_slots(
        self, *, pilot_id: uuid.UUID, teacher_id: str, week: int
    ) -> Sequence[ObservationSlot]:
        """A teacher's slots of one week not yet filled, by date."""
        rows = await self.session.scalars(
            select(ObservationSlot)
            .where(
                ObservationSlot.pilot_id == pilot_id,
                ObservationSlot.teacher_id == teacher_id,
                ObservationSlot.week == week,
                ObservationSlot.observation_id.is_(None),
            )
            .order_by(ObservationSlot.scheduled_on)
        )
        return rows.all()

    async def slot_of(self, *, observation_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, uuid.UUID]:
        """Observation id -> id of the slot it fills."""
        rows = await self.session.execute(
            select(ObservationSlot.observation_id, ObservationSlot.id).where(
                ObservationSlot.observation_id.in_(observation_ids)
            )
        )
        return {obs: slot for obs, slot in rows.all() if obs is not None}

    async def fall_recorded(self, *, pilot_id: uuid.UUID, teacher_id: str, week: int) -> bool:
        """Whether a fall of this teacher's time-on-task in this week was already raised."""
        found = await self.session.scalar(
            select(TimeOnTaskFall.id).where(
                TimeOnTaskFall.pilot_id == pilot_id,
                TimeOnTaskFall.teacher_id == teacher_id,
                TimeOnTaskFall.week == week,
            )
        )
        return found is not None

    async def add_fall(self, fall: TimeOnTaskFall) -> None:
        """Stage a raised fall."""
        self.session.add(fall)
        await self.session.flush()

    async def add(self, observation: Observation) -> Observation:
        """Stage a new observation."""
        self.session.add(observation)
        await self.session.flush()
        return observation

    async def list(
        self,
        *,
        district_id: str,
        pilot_id: uuid.UUID,
        teacher_id: str | None,
        limit: int | None = None,
        offset: int = 0,
    ) -> tuple[Sequence[Observation], int]:
        """A pilot's observations by date (all of them without `limit`), and the total."""
        where = [Observation.district_id == district_id, Observation.pilot_id == pilot_id]
        if teacher_id:
            where.append(Observation.teacher_id == teacher_id)
        total = await self.session.scalar(select(func.count()).select_from(Observation).where(*where))
        stmt = select(Observation).where(*where).order_by(Observation.observed_on, Observation.created_at)
        if limit is not None:
            stmt = stmt.limit(limit).offset(offset)
        return (await self.session.scalars(stmt)).all(), int(total or 0)
