"""HTTP route for who uses a catalog tool (called by the catalog when it retires one)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter

from services.analytics.deps import Staff
from services.analytics.tools.repository import ToolRepository
from services.analytics.tools.schemas import TeacherUsing, ToolTeachersRead
from shared.api import SessionDep
from shared.validation import Day

router = APIRouter(prefix="/tools", tags=["tools"])


@router.get("/{tool_id}/teachers", response_model=ToolTeachersRead)
async def teachers_using(
    tool_id: uuid.UUID, since: Day, session: SessionDep, principal: Staff
) -> ToolTeachersRead:
    """Rostered teachers with any use of the tool on or after `since`, with their roster emails."""
    rows = await ToolRepository(session).teachers_using(
        district_id=principal.district_id, tool_id=str(tool_id), since=since
    )
    return ToolTeachersRead(
        tool_id=str(tool_id),
        since=since,
        teachers=[TeacherUsing(teacher_id=t, email=e, last_used_on=d) for t, e, d in rows],
    )
