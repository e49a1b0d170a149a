"""What the catalog publishes (through its outbox) and the events it consumes."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from services.catalog.db import outbox as outbox_table
from shared.events import CloudEvent, PilotStarted
from shared.outbox import Outbox

outbox = Outbox(outbox_table, source="/edtech/catalog")


async def on_pilot_started(event: CloudEvent, payload: PilotStarted, session: AsyncSession) -> None:
    """A pilot began: the tool moves to `piloting` (if it is not there already)."""
    from services.catalog.tools import service
    from services.catalog.tools.repository import ToolRepository

    tool = await ToolRepository(session).get(district_id=event.districtid, tool_id=payload.tool_id)
    if tool is None or tool.status == "piloting":
        return
    await service.transition(session, district_id=event.districtid, tool_id=payload.tool_id,
                             to_status="piloting", actor="pilots-service",
                             reason=f"pilot {payload.pilot_id} started")


HANDLERS = {PilotStarted: on_pilot_started}
