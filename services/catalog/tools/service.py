"""Business rules for tools: registration and the lifecycle state machine."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from services.catalog.events import outbox
from services.catalog.models import Tool, ToolTransition
from services.catalog.tools.repository import ToolRepository
from services.catalog.tools.schemas import ToolCreate
from shared.db import utcnow
from shared.errors import Conflict, NotFound
from shared.events import ToolRegistered, ToolStatusChanged

TRANSITIONS: dict[str, frozenset[str]] = {
    "proposed": frozenset({"vetting", "rejected"}),
    "vetting": frozenset({"approved_for_pilot", "rejected"}),
    "approved_for_pilot": frozenset({"piloting", "rejected"}),
    "piloting": frozenset({"adopted", "rejected"}),
    "adopted": frozenset({"sunsetting"}),
    "sunsetting": frozenset({"retired", "adopted"}),
    "retired": frozenset(),
    "rejected": frozenset(),
}


async def register_tool(session: AsyncSession, *, district_id: str, actor: str, data: ToolCreate) -> Tool:
    """Register a tool as `proposed` and publish `tool-registered`."""
    repo = ToolRepository(session)
    tool = await repo.add(Tool(district_id=district_id, status="proposed", **data.model_dump()))
    await repo.add_transition(ToolTransition(tool_id=tool.id, from_status=None, to_status="proposed",
                                             actor=actor, reason="registered"))
    await outbox.add(session, ToolRegistered(
        tool_id=tool.id, tool_name=tool.name, vendor=tool.vendor, category=tool.category, status="proposed",
        subjects=tool.subjects, grade_bands=tool.grade_bands,
    ), district_id=district_id)
    return tool


async def get_tool(session: AsyncSession, *, district_id: str, tool_id: uuid.UUID) -> Tool:
    """A district's tool; 404 if it does not exist there."""
    tool = await ToolRepository(session).get(district_id=district_id, tool_id=tool_id)
    if tool is None:
        raise NotFound(f"tool {tool_id} not found")
    return tool


async def transition(session: AsyncSession, *, district_id: str, tool_id: uuid.UUID, to_status: str,
                     actor: str, reason: str | None) -> Tool:
    """Move a tool in its lifecycle if the state machine allows it; record and publish the move."""
    repo = ToolRepository(session)
    tool = await repo.get(district_id=district_id, tool_id=tool_id, for_update=True)
    if tool is None:
        raise NotFound(f"tool {tool_id} not found")
    allowed = TRANSITIONS[tool.status]
    if to_status not in allowed:
        raise Conflict(
            f"a {tool.status} tool cannot move to {to_status}; allowed: {', '.join(sorted(allowed)) or 'none'}",
            current_status=tool.status, allowed=sorted(allowed),
        )
    from_status, tool.status = tool.status, to_status
    now = utcnow()
    await repo.add_transition(ToolTransition(tool_id=tool.id, from_status=from_status, to_status=to_status,
                                             actor=actor, reason=reason, at=now))
    await outbox.add(session, ToolStatusChanged(
        tool_id=tool.id, tool_name=tool.name, from_status=from_status, to_status=to_status,  # type: ignore[arg-type]
        reason=reason, actor=actor, changed_at=now,
    ), district_id=district_id)
    return tool
