"""HTTP routes for the six-point checklist."""

from __future__ import annotations

import uuid

from fastapi import APIRouter

from services.catalog.checklist import service
from services.catalog.checklist.schemas import ChecklistPointUpdate, ChecklistRead, Point
from services.catalog.deps import CanRecordEvidence, Member
from shared.api import SessionDep

router = APIRouter(prefix="/tools/{tool_id}/checklist", tags=["checklist"])


@router.get("", response_model=ChecklistRead)
async def read_checklist(tool_id: uuid.UUID, session: SessionDep, principal: Member) -> ChecklistRead:
    """All six points of the tool with result, evidence, reviewer and time."""
    return await service.read_checklist(session, district_id=principal.district_id, tool_id=tool_id)


@router.put("/{point}", response_model=ChecklistRead)
async def record_point(
    tool_id: uuid.UUID,
    point: Point,
    body: ChecklistPointUpdate,
    session: SessionDep,
    principal: CanRecordEvidence,
) -> ChecklistRead:
    """Record one point (privacy, sso, accessibility, cost, evidence, mobile); returns the whole checklist."""
    await service.record_point(
        session,
        district_id=principal.district_id,
        tool_id=tool_id,
        point=point,
        reviewer=principal.subject,
        data=body,
    )
    return await service.read_checklist(session, district_id=principal.district_id, tool_id=tool_id)
