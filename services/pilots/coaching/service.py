"""Rules for coaching cycles: planning the four steps across the cycle and recording them."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from services.pilots.coaching.repository import CoachingRepository
from services.pilots.coaching.schemas import (
    STEPS,
    CoachingCycleCreate,
    CoachingCycleRead,
    CoachingStepRead,
    CoachingStepUpdate,
)
from services.pilots.district_settings.schemas import PilotSettingsRead
from services.pilots.models import CoachingCycle, CoachingStep, Pilot
from shared.auth import Principal
from shared.errors import Conflict, NotFound, Unprocessable


def planned_dates(start_date: dt.date, weeks: int) -> list[dt.date]:
    """One date per step, spread evenly over the cycle (a 4-week cycle: one step a week)."""
    days = 7 * weeks
    return [start_date + dt.timedelta(days=(i * days) // len(STEPS)) for i in range(len(STEPS))]


def to_read(cycle: CoachingCycle, steps: Sequence[CoachingStep]) -> CoachingCycleRead:
    """A cycle and its steps as a response body."""
    return CoachingCycleRead(
        id=cycle.id,
        pilot_id=cycle.pilot_id,
        teacher_id=cycle.teacher_id,
        coach=cycle.coach,
        start_date=cycle.start_date,
        end_date=cycle.start_date + dt.timedelta(days=7 * cycle.weeks - 1),
        weeks=cycle.weeks,
        focus=cycle.focus,
        steps=[CoachingStepRead.model_validate(s) for s in steps],
        completed=bool(steps) and all(s.held_on is not None for s in steps),
        created_at=cycle.created_at,
    )


async def start_cycle(
    session: AsyncSession,
    *,
    principal: Principal,
    rules: PilotSettingsRead,
    pilot: Pilot,
    teacher_ids: Sequence[str],
    data: CoachingCycleCreate,
) -> CoachingCycleRead:
    """Open a coaching cycle for a pilot teacher with its four steps planned."""
    if pilot.status == "cancelled":
        raise Conflict("a cancelled pilot takes no coaching cycles", current_status=pilot.status)
    if data.teacher_id not in teacher_ids:
        raise Unprocessable(f"teacher {data.teacher_id!r} is not in this pilot", field="teacher_id")
    weeks = data.weeks or rules.coaching_cycle_weeks
    steps = [
        CoachingStep(step=name, position=i, planned_on=day)
        for i, (name, day) in enumerate(zip(STEPS, planned_dates(data.start_date, weeks), strict=True))
    ]
    cycle = await CoachingRepository(session).add(
        CoachingCycle(
            district_id=pilot.district_id,
            pilot_id=pilot.id,
            teacher_id=data.teacher_id,
            coach=principal.subject,
            start_date=data.start_date,
            weeks=weeks,
            focus=data.focus,
        ),
        steps,
    )
    return to_read(cycle, steps)


async def update_step(
    session: AsyncSession, *, pilot: Pilot, cycle_id: uuid.UUID, step: str, data: CoachingStepUpdate
) -> CoachingCycleRead:
    """Record a step's dates and notes."""
    repo = CoachingRepository(session)
    cycle = await repo.get(district_id=pilot.district_id, pilot_id=pilot.id, cycle_id=cycle_id)
    if cycle is None:
        raise NotFound(f"coaching cycle {cycle_id} not found")
    steps = (await repo.steps(cycle_ids=[cycle.id]))[cycle.id]
    target = next((s for s in steps if s.step == step), None)
    if target is None:
        raise NotFound(f"no step {step!r}; the steps are {', '.join(STEPS)}")
    for name, value in data.model_dump(exclude_unset=True).items():
        if name == "planned_on" and value is None:
            raise Unprocessable("planned_on cannot be cleared", field="planned_on")
        setattr(target, name, value)
    await session.flush()
    return to_read(cycle, steps)
