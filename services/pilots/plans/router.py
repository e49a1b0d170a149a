"""HTTP routes for pilot plans and their lifecycle."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, status

from services.pilots.api import CatalogHttpDep, Planner, Reader, RulesDep
from services.pilots.models import Pilot
from services.pilots.plans import service
from services.pilots.plans.repository import PilotRepository
from services.pilots.plans.schemas import (
    PilotCancel,
    PilotCreate,
    PilotDecisionCreate,
    PilotRead,
    PilotStart,
    PilotStatus,
    PilotTransitionRead,
)
from shared.api import Page, PageDep, SessionDep

router = APIRouter(prefix="/pilots", tags=["pilots"])


async def _read(session: SessionDep, pilot: Pilot) -> PilotRead:
    return service.to_read(pilot, await service.teacher_ids_of(session, pilot=pilot))


@router.post("", status_code=status.HTTP_201_CREATED, response_model=PilotRead)
async def create_pilot(
    body: PilotCreate, session: SessionDep, principal: Planner, rules: RulesDep, catalog: CatalogHttpDep
) -> PilotRead:
    """Plan a pilot of a tool approved for pilot (409 if the tool is not approved)."""
    pilot = await service.create_pilot(session, principal=principal, rules=rules, data=body, catalog=catalog)
    return await _read(session, pilot)


@router.get("", response_model=Page[PilotRead])
async def list_pilots(
    session: SessionDep,
    principal: Reader,
    page: PageDep,
    status: PilotStatus | None = None,
    tool_id: uuid.UUID | None = None,
    teacher_id: str | None = None,
) -> Page[PilotRead]:
    """List the district's pilots, newest first (a teacher sees only the pilots they take part in)."""
    if not principal.has_any(*service.STAFF_ROLES):
        teacher_id = principal.subject
    repo = PilotRepository(session)
    rows, total = await repo.page(
        district_id=principal.district_id,
        status=status,
        tool_id=tool_id,
        teacher_id=teacher_id,
        limit=page.limit,
        offset=page.offset,
    )
    teachers = await repo.teacher_ids(pilot_ids=[p.id for p in rows])
    return Page(
        items=[service.to_read(p, teachers.get(p.id, [])) for p in rows],
        total=total,
        limit=page.limit,
        offset=page.offset,
    )


@router.get("/{pilot_id}", response_model=PilotRead)
async def get_pilot(pilot_id: uuid.UUID, session: SessionDep, principal: Reader) -> PilotRead:
    """One pilot of the district."""
    return await _read(session, await service.get_pilot(session, principal=principal, pilot_id=pilot_id))


@router.get("/{pilot_id}/history", response_model=list[PilotTransitionRead])
async def pilot_history(
    pilot_id: uuid.UUID, session: SessionDep, principal: Reader
) -> list[PilotTransitionRead]:
    """The pilot's lifecycle history, oldest first."""
    pilot = await service.get_pilot(session, principal=principal, pilot_id=pilot_id)
    return [
        PilotTransitionRead.model_validate(t)
        for t in await PilotRepository(session).transitions(pilot_id=pilot.id)
    ]


@router.post("/{pilot_id}/start", response_model=PilotRead)
async def start_pilot(
    pilot_id: uuid.UUID,
    session: SessionDep,
    principal: Planner,
    rules: RulesDep,
    body: PilotStart | None = None,
) -> PilotRead:
    """Start a planned pilot: generates the observation schedule and publishes `pilot-started`."""
    pilot = await service.start_pilot(
        session,
        principal=principal,
        rules=rules,
        pilot_id=pilot_id,
        start_date=body.start_date if body else None,
    )
    return await _read(session, pilot)


@router.post("/{pilot_id}/evaluate", response_model=PilotRead)
async def evaluate_pilot(pilot_id: uuid.UUID, session: SessionDep, principal: Planner) -> PilotRead:
    """Move an active pilot to evaluation."""
    return await _read(session, await service.evaluate_pilot(session, principal=principal, pilot_id=pilot_id))


@router.post("/{pilot_id}/decision", response_model=PilotRead)
async def decide_pilot(
    pilot_id: uuid.UUID, body: PilotDecisionCreate, session: SessionDep, principal: Planner, rules: RulesDep
) -> PilotRead:
    """Decide an evaluated pilot: adopt, extend (back to active for more weeks) or reject."""
    pilot = await service.decide_pilot(
        session, principal=principal, rules=rules, pilot_id=pilot_id, data=body
    )
    return await _read(session, pilot)


@router.post("/{pilot_id}/cancel", response_model=PilotRead)
async def cancel_pilot(
    pilot_id: uuid.UUID, session: SessionDep, principal: Planner, body: PilotCancel | None = None
) -> PilotRead:
    """Cancel a pilot that has not been decided."""
    pilot = await service.cancel_pilot(
        session, principal=principal, pilot_id=pilot_id, reason=body.reason if body else None
    )
    return await _read(session, pilot)
