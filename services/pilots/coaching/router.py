"""HTTP routes for a pilot's coaching cycles."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, status

from services.pilots.api import Reader, Recorder, RulesDep
from services.pilots.coaching import service
from services.pilots.coaching.repository import CoachingRepository
from services.pilots.coaching.schemas import (
    CoachingCycleCreate,
    CoachingCycleRead,
    CoachingStepName,
    CoachingStepUpdate,
)
from services.pilots.plans.service import get_pilot, teacher_ids_of, visible_teacher
from shared.api import Page, PageDep, SessionDep

router = APIRouter(prefix="/pilots/{pilot_id}/coaching-cycles", tags=["coaching"])


@router.post("", status_code=status.HTTP_201_CREATED, response_model=CoachingCycleRead)
async def start_cycle(
    pilot_id: uuid.UUID, body: CoachingCycleCreate, session: SessionDep, principal: Recorder, rules: RulesDep
) -> CoachingCycleRead:
    """Open a coaching cycle (four weeks by default) for a pilot teacher, its four steps planned."""
    pilot = await get_pilot(session, principal=principal, pilot_id=pilot_id)
    return await service.start_cycle(
        session,
        principal=principal,
        rules=rules,
        pilot=pilot,
        teacher_ids=await teacher_ids_of(session, pilot=pilot),
        data=body,
    )


@router.get("", response_model=Page[CoachingCycleRead])
async def list_cycles(
    pilot_id: uuid.UUID, session: SessionDep, principal: Reader, page: PageDep, teacher_id: str | None = None
) -> Page[CoachingCycleRead]:
    """The pilot's coaching cycles (a teacher sees their own)."""
    pilot = await get_pilot(session, principal=principal, pilot_id=pilot_id)
    repo = CoachingRepository(session)
    rows, total = await repo.page(
        district_id=principal.district_id,
        pilot_id=pilot.id,
        teacher_id=visible_teacher(principal, teacher_id),
        limit=page.limit,
        offset=page.offset,
    )
    steps = await repo.steps(cycle_ids=[c.id for c in rows])
    return Page(
        items=[service.to_read(c, steps.get(c.id, [])) for c in rows],
        total=total,
        limit=page.limit,
        offset=page.offset,
    )


@router.patch("/{cycle_id}/steps/{step}", response_model=CoachingCycleRead)
async def update_step(
    pilot_id: uuid.UUID,
    cycle_id: uuid.UUID,
    step: CoachingStepName,
    body: CoachingStepUpdate,
    session: SessionDep,
    principal: Recorder,
) -> CoachingCycleRead:
    """Record when a step was planned or held, and its notes."""
    pilot = await get_pilot(session, principal=principal, pilot_id=pilot_id)
    return await service.update_step(session, pilot=pilot, cycle_id=cycle_id, step=step, data=body)
