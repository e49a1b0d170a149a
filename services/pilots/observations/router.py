"""HTTP routes for a pilot's observation schedule and observations."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, status

from services.pilots.api import Reader, Recorder, RulesDep
from services.pilots.observations import service
from services.pilots.observations.repository import ObservationRepository
from services.pilots.observations.schemas import (
    ObservationCreate,
    ObservationRead,
    ObservationSummary,
    SchedulePage,
    SlotRead,
    SlotStatus,
)
from services.pilots.plans.service import get_pilot, teacher_ids_of, visible_teacher
from shared.api import Page, PageDep, SessionDep
from shared.clock import clock_of
from shared.time_zones import local_date
from shared.validation import Day

router = APIRouter(prefix="/pilots/{pilot_id}", tags=["observations"])


@router.get("/schedule", response_model=SchedulePage)
async def observation_schedule(
    pilot_id: uuid.UUID,
    session: SessionDep,
    principal: Reader,
    rules: RulesDep,
    page: PageDep,
    teacher_id: str | None = None,
    status: SlotStatus | None = None,
    as_of: Day | None = None,
) -> SchedulePage:
    """The observation slots by date, each done, due or missed as of `as_of` (default: the district's
    today, in its time zone)."""
    pilot = await get_pilot(session, principal=principal, pilot_id=pilot_id)
    today = as_of or local_date(clock_of(session).now(), rules.time_zone)
    rows, counts = await ObservationRepository(session).slots(
        district_id=principal.district_id,
        pilot_id=pilot.id,
        teacher_id=visible_teacher(principal, teacher_id),
        status=status,
        today=today,
        limit=page.limit,
        offset=page.offset,
    )
    full = {"done": counts.get("done", 0), "due": counts.get("due", 0), "missed": counts.get("missed", 0)}
    total = full[status] if status else sum(full.values())
    items = [
        SlotRead(
            id=s.id,
            teacher_id=s.teacher_id,
            week=s.week,
            scheduled_on=s.scheduled_on,
            status=st,
            observation_id=s.observation_id,
        )
        for s, st in rows
    ]
    return SchedulePage(
        items=items, total=total, limit=page.limit, offset=page.offset, as_of=today, counts=full
    )


@router.post("/observations", status_code=status.HTTP_201_CREATED, response_model=ObservationRead)
async def record_observation(
    pilot_id: uuid.UUID, body: ObservationCreate, session: SessionDep, principal: Recorder, rules: RulesDep
) -> ObservationRead:
    """Record a classroom observation (time-on-task intervals, SAMR, PICRAT, notes); fills its slot."""
    pilot = await get_pilot(session, principal=principal, pilot_id=pilot_id, for_update=True)
    observation, slot = await service.record_observation(
        session,
        principal=principal,
        rules=rules,
        pilot=pilot,
        teacher_ids=await teacher_ids_of(session, pilot=pilot),
        data=body,
    )
    return service.to_read(observation, slot.id if slot else None)


@router.get("/observations", response_model=Page[ObservationRead])
async def list_observations(
    pilot_id: uuid.UUID, session: SessionDep, principal: Reader, page: PageDep, teacher_id: str | None = None
) -> Page[ObservationRead]:
    """The pilot's observations by date (a teacher sees their own)."""
    pilot = await get_pilot(session, principal=principal, pilot_id=pilot_id)
    repo = ObservationRepository(session)
    rows, total = await repo.list(
        district_id=principal.district_id,
        pilot_id=pilot.id,
        teacher_id=visible_teacher(principal, teacher_id),
        limit=page.limit,
        offset=page.offset,
    )
    slots = await repo.slot_of(observation_ids=[o.id for o in rows])
    return Page(
        items=[service.to_read(o, slots.get(o.id)) for o in rows],
        total=total,
        limit=page.limit,
        offset=page.offset,
    )


@router.get("/observations/summary", response_model=ObservationSummary)
async def observation_summary(
    pilot_id: uuid.UUID, session: SessionDep, principal: Reader, teacher_id: str | None = None
) -> ObservationSummary:
    """Time-on-task per teacher, per week and overall (sum on task / sum present), SAMR and PICRAT counts."""
    pilot = await get_pilot(session, principal=principal, pilot_id=pilot_id)
    rows, _ = await ObservationRepository(session).list(
        district_id=principal.district_id,
        pilot_id=pilot.id,
        teacher_id=visible_teacher(principal, teacher_id),
    )
    return service.summarize(rows)
