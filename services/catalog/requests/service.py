"""Rules for tool requests: any district user may request; the tool enters as `proposed`."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from services.catalog.models import Tool, ToolRequest
from services.catalog.requests.repository import ToolRequestRepository
from services.catalog.requests.schemas import ToolRequestCreate
from services.catalog.tools.service import register_tool


async def request_tool(
    session: AsyncSession, *, district_id: str, actor: str, data: ToolRequestCreate
) -> tuple[ToolRequest, Tool]:
    """Register the requested tool as `proposed` (publishing `tool-registered`) and record the request."""
    tool = await register_tool(
        session,
        district_id=district_id,
        actor=actor,
        data=data.tool,
        reason=f"requested by {actor}: {data.justification}"[:2000],
    )
    request = await ToolRequestRepository(session).add(
        ToolRequest(
            district_id=district_id,
            tool_id=tool.id,
            requested_by=actor,
            justification=data.justification,
            school_id=data.school_id,
        )
    )
    return request, tool
