"""Rules for standards alignment: no duplicates; alignments are fixed once a pilot is approved."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from services.catalog.models import StandardAlignment
from services.catalog.standards.repository import StandardRepository
from services.catalog.standards.schemas import StandardAlignmentCreate
from services.catalog.tools.service import get_tool
from shared.errors import Conflict, NotFound


async def add_alignment(
    session: AsyncSession, *, district_id: str, tool_id: uuid.UUID, actor: str, data: StandardAlignmentCreate
) -> StandardAlignment:
    """Map a tool to a standard (409 if it is already mapped to it)."""
    tool = await get_tool(session, district_id=district_id, tool_id=tool_id)
    repo = StandardRepository(session)
    jurisdiction = data.jurisdiction or ""
    if await repo.find(tool_id=tool.id, framework=data.framework, code=data.code, jurisdiction=jurisdiction):
        raise Conflict(f"{tool.name} is already aligned to {data.framework} {data.code}")
    return await repo.add(
        StandardAlignment(
            district_id=district_id,
            tool_id=tool.id,
            framework=data.framework,
            code=data.code,
            jurisdiction=jurisdiction,
            description=data.description,
            created_by=actor,
        )
    )


async def remove_alignment(
    session: AsyncSession, *, district_id: str, tool_id: uuid.UUID, alignment_id: uuid.UUID
) -> None:
    """Remove an alignment; the last one cannot go once the tool is approved for a pilot or beyond."""
    tool = await get_tool(session, district_id=district_id, tool_id=tool_id)
    repo = StandardRepository(session)
    alignment = await repo.get(district_id=district_id, tool_id=tool.id, alignment_id=alignment_id)
    if alignment is None:
        raise NotFound(f"standards alignment {alignment_id} not found")
    if tool.status not in ("proposed", "vetting", "rejected") and await repo.count(tool_id=tool.id) == 1:
        raise Conflict(f"{tool.name} is {tool.status}: it must keep at least one standards alignment")
    await repo.delete(alignment)
