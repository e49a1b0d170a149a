"""What the analytics service publishes (through its outbox) and the events it consumes.

Publishes: utilization-dropped, license-dormant (see `signals/service.py`).
Consumes (idempotently, through the shared consumer's inbox): tool-registered and
tool-status-changed (tool names and statuses), pilot-started and pilot-completed (pilot
cohorts), error-logged (errors per tool and day).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.analytics.db import outbox as outbox_table
from services.analytics.pilots.service import record_decision, register_cohort
from services.analytics.tools.repository import ToolRepository
from shared.events import (
    CloudEvent,
    ErrorLogged,
    PilotCompleted,
    PilotStarted,
    ToolRegistered,
    ToolStatusChanged,
)
from shared.outbox import Outbox

outbox = Outbox(outbox_table, source="/edtech/analytics")


async def on_tool_registered(event: CloudEvent, payload: ToolRegistered, session: AsyncSession) -> None:
    """Remember a catalog tool's name and status."""
    await ToolRepository(session).upsert_tool(
        district_id=event.districtid,
        tool_id=str(payload.tool_id),
        name=payload.tool_name,
        status=payload.status,
    )


async def on_tool_status_changed(
    event: CloudEvent, payload: ToolStatusChanged, session: AsyncSession
) -> None:
    """Keep a tool's lifecycle status."""
    await ToolRepository(session).upsert_tool(
        district_id=event.districtid,
        tool_id=str(payload.tool_id),
        name=payload.tool_name,
        status=payload.to_status,
    )


async def on_pilot_started(event: CloudEvent, payload: PilotStarted, session: AsyncSession) -> None:
    """Register the pilot's cohort (teachers, tool, dates)."""
    await register_cohort(session, district_id=event.districtid, payload=payload)


async def on_pilot_completed(event: CloudEvent, payload: PilotCompleted, session: AsyncSession) -> None:
    """Record the pilot's decision (and an extended end date)."""
    await record_decision(session, district_id=event.districtid, payload=payload)


async def on_error_logged(event: CloudEvent, payload: ErrorLogged, session: AsyncSession) -> None:
    """Count the error for its tool, day and severity."""
    await ToolRepository(session).count_error(
        district_id=event.districtid,
        tool_id=str(payload.tool_id),
        day=payload.occurred_at.astimezone(dt.UTC).date(),
        severity=payload.severity,
    )


HANDLERS: dict[Any, Any] = {
    ToolRegistered: on_tool_registered,
    ToolStatusChanged: on_tool_status_changed,
    PilotStarted: on_pilot_started,
    PilotCompleted: on_pilot_completed,
    ErrorLogged: on_error_logged,
}
