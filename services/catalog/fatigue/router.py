"""HTTP routes for rollouts and the tool-fatigue limit."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, status

from services.catalog.deps import CanChangeCatalog, Member, SettingsDep
from services.catalog.district_settings.service import effective_settings
from services.catalog.fatigue import service
from services.catalog.fatigue.repository import RolloutRepository
from services.catalog.fatigue.schemas import (
    SEMESTER_PATTERN,
    RolloutApprove,
    RolloutCreate,
    RolloutRead,
    Scope,
)
from shared.api import Page, PageDep, SessionDep

router = APIRouter(prefix="/rollouts", tags=["tool fatigue"])


@router.post("", status_code=status.HTTP_201_CREATED, response_model=RolloutRead)
async def plan_rollout(
    body: RolloutCreate, session: SessionDep, principal: CanChangeCatalog, settings: SettingsDep
) -> RolloutRead:
    """Plan a rollout of an adopted tool that passed the six-point checklist (409 naming what blocks it);
    `would_exceed` warns when approving it would pass the fatigue limit."""
    limits = await effective_settings(session, district_id=principal.district_id, defaults=settings)
    row = await service.plan_rollout(
        session, district_id=principal.district_id, actor=principal.subject, data=body
    )
    return await service.to_read(session, row, limit=limits.fatigue_limit)


@router.get("", response_model=Page[RolloutRead])
async def list_rollouts(
    session: SessionDep,
    principal: Member,
    page: PageDep,
    settings: SettingsDep,
    scope: Scope | None = None,
    scope_id: str | None = None,
    semester: Annotated[str | None, Query(pattern=SEMESTER_PATTERN)] = None,
    tool_id: uuid.UUID | None = None,
) -> Page[RolloutRead]:
    """List the district's rollouts, newest first."""
    limits = await effective_settings(session, district_id=principal.district_id, defaults=settings)
    rows, total = await RolloutRepository(session).list(
        district_id=principal.district_id,
        scope=scope,
        scope_id=scope_id,
        semester=semester,
        tool_id=tool_id,
        limit=page.limit,
        offset=page.offset,
    )
    return Page(
        items=[await service.to_read(session, r, limit=limits.fatigue_limit) for r in rows],
        total=total,
        limit=page.limit,
        offset=page.offset,
    )


@router.post("/{rollout_id}/approve", response_model=RolloutRead)
async def approve_rollout(
    rollout_id: uuid.UUID,
    body: RolloutApprove,
    session: SessionDep,
    principal: CanChangeCatalog,
    settings: SettingsDep,
) -> RolloutRead:
    """Approve a rollout (409 if the tool may no longer be rolled out, or over the fatigue limit unless
    `override_reason` is given)."""
    limits = await effective_settings(session, district_id=principal.district_id, defaults=settings)
    row = await service.approve_rollout(
        session,
        district_id=principal.district_id,
        rollout_id=rollout_id,
        actor=principal.subject,
        override_reason=body.override_reason,
        limit=limits.fatigue_limit,
        checklist_override_reason=body.checklist_override_reason,
    )
    return await service.to_read(session, row, limit=limits.fatigue_limit)
