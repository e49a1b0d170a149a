"""What the analytics service publishes (through its outbox) and the events it consumes.

Publishes: utilization-dropped, license-dormant, license-seats-used (see `signals/service.py`), and
error-logged for the errors LMSs report (`ingest/service.py`).
Consumes (idempotently, through the shared consumer's inbox): tool-registered and
tool-status-changed (tool names and statuses), license-recorded (the catalog's licenses),
pilot-started and pilot-completed (pilot cohorts), tam-answered (the TAM answers buy-in counts),
error-logged (errors per tool and day). An event that names a tool or pilot the local copies hold for
another district changes nothing (`shared.ownership`).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.analytics.db import outbox as outbox_table
from services.analytics.district.service import district_time_zone, record_license, record_tam_answer
from services.analytics.pilots.service import record_decision, register_cohort
from services.analytics.tools.service import count_error, remember_tool
from shared.events import (
    CloudEvent,
    ErrorLogged,
    LicenseRecorded,
    PilotCompleted,
    PilotStarted,
    TamAnswered,
    ToolRegistered,
    ToolStatusChanged,
)
from shared.outbox import Outbox
from shared.time_zones import local_date

outbox = Outbox(outbox_table, source="/edtech/analytics")


async def on_tool_registered(event: CloudEvent, payload: ToolRegistered, session: AsyncSession) -> None:
    """Remember a catalog tool's name and status."""
    await remember_tool(
        session,
        district_id=event.districtid,
        tool_id=str(payload.tool_id),
        name=payload.tool_name,
        status=payload.status,
        at=event.time,
        event_id=event.id,
        event_type=event.type,
    )


async def on_tool_status_changed(
    event: CloudEvent, payload: ToolStatusChanged, session: AsyncSession
) -> None:
    """Keep a tool's lifecycle status."""
    await remember_tool(
        session,
        district_id=event.districtid,
        tool_id=str(payload.tool_id),
        name=payload.tool_name,
        status=payload.to_status,
        at=payload.changed_at,
        event_id=event.id,
        event_type=event.type,
    )


async def on_pilot_started(event: CloudEvent, payload: PilotStarted, session: AsyncSession) -> None:
    """Register the pilot's cohort (teachers, tool, dates)."""
    await register_cohort(
        session, district_id=event.districtid, payload=payload, event_id=event.id, event_type=event.type
    )


async def on_pilot_completed(event: CloudEvent, payload: PilotCompleted, session: AsyncSession) -> None:
    """Record the pilot's decision (and an extended end date)."""
    await record_decision(session, district_id=event.districtid, payload=payload)


async def on_license_recorded(event: CloudEvent, payload: LicenseRecorded, session: AsyncSession) -> None:
    """Keep the catalog's license of a tool (the catalog owns licenses; analytics measures their use)."""
    await record_license(session, district_id=event.districtid, payload=payload)


async def on_tam_answered(event: CloudEvent, payload: TamAnswered, session: AsyncSession) -> None:
    """Keep a teacher's TAM answer (pilots' instrument): the buy-in figures count it."""
    await record_tam_answer(session, district_id=event.districtid, payload=payload)


async def on_error_logged(event: CloudEvent, payload: ErrorLogged, session: AsyncSession) -> None:
    """Count the error for its tool, day and severity."""
    await count_error(
        session,
        district_id=event.districtid,
        tool_id=str(payload.tool_id),
        day=local_date(payload.occurred_at, await district_time_zone(session, event.districtid)),
        severity=payload.severity,
        event_id=event.id,
        event_type=event.type,
    )


HANDLERS: dict[Any, Any] = {
    ToolRegistered: on_tool_registered,
    ToolStatusChanged: on_tool_status_changed,
    PilotStarted: on_pilot_started,
    PilotCompleted: on_pilot_completed,
    TamAnswered: on_tam_answered,
    LicenseRecorded: on_license_recorded,
    ErrorLogged: on_error_logged,
}
