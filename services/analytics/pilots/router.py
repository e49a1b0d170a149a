"""HTTP route for a pilot's usage (called by the pilots service for its report)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter

from services.analytics.deps import Viewer
from services.analytics.pilots import service
from services.analytics.pilots.schemas import PilotUsageRead
from shared.api import SessionDep

router = APIRouter(prefix="/pilots", tags=["pilots"])


@router.get("/{pilot_id}/usage", response_model=PilotUsageRead)
async def pilot_usage(pilot_id: uuid.UUID, session: SessionDep, principal: Viewer) -> PilotUsageRead:
    """Usage of the pilot's tool by its teachers during the pilot (teachers: only pilots they are in)."""
    staff = principal.has_any("edtech", "admin", "specialist")
    return await service.pilot_usage(
        session,
        district_id=principal.district_id,
        pilot_id=pilot_id,
        teacher_id=None if staff else principal.subject,
    )
