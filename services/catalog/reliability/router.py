"""HTTP routes for a tool's reliability note."""

from __future__ import annotations

import uuid

from fastapi import APIRouter

from services.catalog.deps import Member
from services.catalog.reliability import service
from services.catalog.reliability.schemas import ReliabilityRead
from shared.api import SessionDep

router = APIRouter(prefix="/tools/{tool_id}/reliability", tags=["reliability"])


@router.get("", response_model=ReliabilityRead)
async def read_reliability(tool_id: uuid.UUID, session: SessionDep, principal: Member) -> ReliabilityRead:
    """Errors reported for the tool (from `error-logged` events), by severity and class period."""
    return await service.reliability(session, district_id=principal.district_id, tool_id=tool_id)
