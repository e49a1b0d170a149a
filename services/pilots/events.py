"""What the pilots service publishes (through its outbox) and the events it consumes.

Publishes: `pilot-started` and `pilot-completed` (plans), `error-logged` (error_logs).
Consumes: `tool-registered` and `tool-status-changed` from the catalog, into the local tool copy;
`district-time-zone-changed` from analytics (the time zone's owner), into the district's settings.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.pilots.db import outbox as outbox_table
from shared.events import CloudEvent, DistrictTimeZoneChanged, ToolRegistered, ToolStatusChanged
from shared.outbox import Outbox

outbox = Outbox(outbox_table, source="/edtech/pilots")


async def on_tool_registered(event: CloudEvent, payload: ToolRegistered, session: AsyncSession) -> None:
    """A tool entered the catalog: remember it and its status, unless a status change got here first."""
    from services.pilots.tools.service import apply_status

    await apply_status(
        session,
        district_id=event.districtid,
        tool_id=payload.tool_id,
        name=payload.tool_name,
        status=payload.status,
        at=event.time,
        only_if_new=True,
    )


async def on_tool_status_changed(
    event: CloudEvent, payload: ToolStatusChanged, session: AsyncSession
) -> None:
    """A tool moved in its lifecycle: update the copy unless a newer change is already stored."""
    from services.pilots.tools.service import apply_status

    await apply_status(
        session,
        district_id=event.districtid,
        tool_id=payload.tool_id,
        name=payload.tool_name,
        status=payload.to_status,
        reason=payload.reason,
        at=payload.changed_at,
    )


async def on_district_time_zone_changed(
    event: CloudEvent, payload: DistrictTimeZoneChanged, session: AsyncSession
) -> None:
    """The district's time zone changed in analytics: pilots' days are cut in it from now on."""
    from services.pilots.district_settings.service import apply_time_zone

    await apply_time_zone(
        session, district_id=event.districtid, time_zone=payload.time_zone, revision=payload.revision
    )


HANDLERS: dict[Any, Any] = {
    ToolRegistered: on_tool_registered,
    ToolStatusChanged: on_tool_status_changed,
    DistrictTimeZoneChanged: on_district_time_zone_changed,
}
