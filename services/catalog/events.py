"""What the catalog publishes (through its outbox) and the events it consumes.

Published: `tool-registered` (on registration and teacher requests) and `tool-status-changed` (every
lifecycle move), written by `tools.service` into the request's transaction.

Consumed (each applied once per event id by the shared consumer; handlers also tolerate replays):

* `pilot-started`: a pilot in a school counts toward that school's tool-fatigue limit; the tool moves
  to `piloting`; if its state or gates refuse (e.g. privacy failed), the refusal is stored as a review
  flag instead of failing the event.
* `pilot-completed`: the decision is kept (rollouts need an adopt decision); `adopt` -> `adopted`,
  `reject` -> `rejected`, `extend` keeps `piloting`.
* `pilot-cancelled`: when no other pilot of the tool still runs, the tool returns to
  `approved_for_pilot`; otherwise it stays `piloting` and is flagged for review.
* `utilization-dropped`: the tool becomes a removal candidate (flag with the event's data, including
  the teachers to notify).
* `license-dormant`: the tool is flagged for review (flag with the event's data).
* `time-on-task-fell`: observed time-on-task fell in a pilot class; the tool is flagged for immediate
  review, the flag carrying the evidence (both weeks' samples and the observations).
* `error-logged`: counts toward the tool's reliability note.
* `license-seats-used`: the seats analytics counted used in a window, kept on the license.
* `district-time-zone-changed`: the district's time zone (analytics owns it), kept in its settings.

Events about a tool the district does not have are ignored, and a `license-dormant` naming a license
that is not that tool's in the district keeps the flag without the license id: the catalog owns
tools and licenses, so an event's district must hold them.
"""

from __future__ import annotations

from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from services.catalog.db import outbox as outbox_table
from shared.consumer import Handler
from shared.errors import Conflict
from shared.events import (
    CloudEvent,
    DistrictTimeZoneChanged,
    ErrorLogged,
    EventPayload,
    LicenseDormant,
    LicenseSeatsUsed,
    OutcomeEvidenceAttached,
    PilotCancelled,
    PilotCompleted,
    PilotStarted,
    TimeOnTaskFell,
    UtilizationDropped,
)
from shared.outbox import Outbox

log = structlog.get_logger(__name__)

outbox = Outbox(outbox_table, source="/edtech/catalog")

PILOTS_ACTOR = "pilots-service"
ANALYTICS_ACTOR = "analytics-service"


async def _tool_exists(session: AsyncSession, event: CloudEvent, tool_id: Any) -> bool:
    from services.catalog.tools.repository import ToolRepository

    tool = await ToolRepository(session).get(district_id=event.districtid, tool_id=tool_id)
    if tool is None:
        log.warning("event_for_unknown_tool", event_id=event.id, event_type=event.type, tool_id=str(tool_id))
    return tool is not None


async def _move_or_flag(
    session: AsyncSession,
    event: CloudEvent,
    payload: PilotStarted | PilotCompleted | PilotCancelled,
    to_status: str,
    reason: str,
) -> None:
    from services.catalog.sunsetting.service import add_flag
    from services.catalog.tools import service

    try:
        async with session.begin_nested():
            await service.transition(
                session,
                district_id=event.districtid,
                tool_id=payload.tool_id,
                to_status=to_status,
                actor=PILOTS_ACTOR,
                reason=reason,
            )
    except Conflict as refused:
        await add_flag(
            session,
            district_id=event.districtid,
            tool_id=payload.tool_id,
            kind="review",
            source=payload.name.replace(".", "_"),
            actor=PILOTS_ACTOR,
            event_id=event.id,
            note=f"could not move to {to_status}: {refused.detail}",
            data=payload.model_dump(mode="json"),
        )


async def on_pilot_started(event: CloudEvent, payload: PilotStarted, session: AsyncSession) -> None:
    """A pilot began: it counts toward its school's tool-fatigue limit, and the tool moves to `piloting`
    (if it is not there already)."""
    from services.catalog.fatigue.service import count_school_pilot
    from services.catalog.tools.repository import ToolRepository

    tool = await ToolRepository(session).get(district_id=event.districtid, tool_id=payload.tool_id)
    if tool is None:
        return
    await count_school_pilot(session, district_id=event.districtid, payload=payload)
    if tool.status == "piloting":
        return
    await _move_or_flag(session, event, payload, "piloting", f"pilot {payload.pilot_id} started")


async def on_pilot_completed(event: CloudEvent, payload: PilotCompleted, session: AsyncSession) -> None:
    """A pilot was decided: the decision is kept (a rollout needs an adopt); adopt -> `adopted`,
    reject -> `rejected`, extend keeps `piloting`."""
    from services.catalog.decisions.service import record_decision
    from services.catalog.tools.repository import ToolRepository

    tool = await ToolRepository(session).get(district_id=event.districtid, tool_id=payload.tool_id)
    if tool is None:
        return
    await record_decision(session, district_id=event.districtid, payload=payload)
    if payload.decision == "extend":
        return
    to_status = "adopted" if payload.decision == "adopt" else "rejected"
    if tool.status == to_status:
        return
    why = f": {payload.rationale}" if payload.rationale else ""
    await _move_or_flag(
        session, event, payload, to_status, f"pilot {payload.pilot_id} decided {payload.decision}{why}"
    )


async def on_pilot_cancelled(event: CloudEvent, payload: PilotCancelled, session: AsyncSession) -> None:
    """A pilot was called off: back to `approved_for_pilot` unless another pilot still runs."""
    from services.catalog.sunsetting.service import add_flag
    from services.catalog.tools.repository import ToolRepository

    tool = await ToolRepository(session).get(district_id=event.districtid, tool_id=payload.tool_id)
    if tool is None or tool.status != "piloting":
        return
    why = f": {payload.reason}" if payload.reason else ""
    if payload.active_pilots_remaining == 0:
        await _move_or_flag(
            session, event, payload, "approved_for_pilot", f"pilot {payload.pilot_id} cancelled{why}"
        )
        return
    await add_flag(
        session,
        district_id=event.districtid,
        tool_id=payload.tool_id,
        kind="review",
        source="pilot_cancelled",
        actor=PILOTS_ACTOR,
        event_id=event.id,
        note=f"pilot {payload.pilot_id} cancelled{why}; "
        f"{payload.active_pilots_remaining} other pilot(s) still running",
        data=payload.model_dump(mode="json"),
    )


async def on_utilization_dropped(
    event: CloudEvent, payload: UtilizationDropped, session: AsyncSession
) -> None:
    """Teacher utilization fell under the threshold: the tool becomes a removal candidate."""
    from services.catalog.sunsetting.service import add_flag

    if not await _tool_exists(session, event, payload.tool_id):
        return
    await add_flag(
        session,
        district_id=event.districtid,
        tool_id=payload.tool_id,
        kind="removal_candidate",
        source="utilization_dropped",
        actor=ANALYTICS_ACTOR,
        event_id=event.id,
        note=f"teacher utilization {payload.utilization:.0%} under {payload.threshold:.0%} "
        f"({payload.window_start} to {payload.window_end})",
        data=payload.model_dump(mode="json"),
    )


async def on_license_dormant(event: CloudEvent, payload: LicenseDormant, session: AsyncSession) -> None:
    """Seats went unused: the tool is flagged for review (naming the license only if it is the tool's)."""
    from services.catalog.licenses.repository import LicenseRepository
    from services.catalog.sunsetting.service import add_flag

    if not await _tool_exists(session, event, payload.tool_id):
        return
    data = payload.model_dump(mode="json")
    if payload.license_id is not None:
        license_ = await LicenseRepository(session).get(
            district_id=event.districtid, license_id=payload.license_id
        )
        if license_ is None or license_.tool_id != payload.tool_id:
            log.warning("event_for_unknown_license", event_id=event.id, license_id=str(payload.license_id))
            data["license_id"] = None
    await add_flag(
        session,
        district_id=event.districtid,
        tool_id=payload.tool_id,
        kind="review",
        source="license_dormant",
        actor=ANALYTICS_ACTOR,
        event_id=event.id,
        note=f"{payload.dormant_seats} of {payload.seats_purchased} seats dormant "
        f"({payload.window_start} to {payload.window_end})",
        data=data,
    )


async def on_time_on_task_fell(event: CloudEvent, payload: TimeOnTaskFell, session: AsyncSession) -> None:
    """Negative impact on instructional time: the tool is flagged for immediate review, with the evidence."""
    from services.catalog.sunsetting.service import add_flag

    if not await _tool_exists(session, event, payload.tool_id):
        return
    base, seen = payload.baseline, payload.observed
    await add_flag(
        session,
        district_id=event.districtid,
        tool_id=payload.tool_id,
        kind="review",
        source="time_on_task_fell",
        actor=PILOTS_ACTOR,
        event_id=event.id,
        note=f"time-on-task in {payload.teacher_id}'s class fell from {base.time_on_task:.0%} (week "
        f"{base.week}) to {seen.time_on_task:.0%} (week {seen.week}) in pilot {payload.pilot_id}: "
        "negative impact on instructional time, immediate review",
        data=payload.model_dump(mode="json"),
    )


async def on_license_seats_used(event: CloudEvent, payload: LicenseSeatsUsed, session: AsyncSession) -> None:
    """Analytics counted a license's seats used in a window: the license shows it."""
    from services.catalog.licenses.service import record_seats_used

    await record_seats_used(session, district_id=event.districtid, payload=payload)


async def on_district_time_zone_changed(
    event: CloudEvent, payload: DistrictTimeZoneChanged, session: AsyncSession
) -> None:
    """The district's time zone changed in analytics: the catalog writes its dates in it from now on."""
    from services.catalog.district_settings.service import apply_time_zone

    await apply_time_zone(
        session, district_id=event.districtid, time_zone=payload.time_zone, revision=payload.revision
    )


async def on_outcome_evidence_attached(
    event: CloudEvent, payload: OutcomeEvidenceAttached, session: AsyncSession
) -> None:
    """An outcome analysis offered as the tool's evidence: the ESSA point passes with its tier."""
    from services.catalog.checklist.schemas import ChecklistPointUpdate
    from services.catalog.checklist.service import record_point

    if not await _tool_exists(session, event, payload.tool_id):
        return
    await record_point(
        session,
        district_id=event.districtid,
        tool_id=payload.tool_id,
        point="evidence",
        reviewer=f"{ANALYTICS_ACTOR} for {payload.attached_by}"[:255],
        data=ChecklistPointUpdate(
            result="pass",
            evidence=f"Outcome analysis ({payload.finding}): {payload.summary}",
            evidence_url=payload.link[:500],
            essa_tier=payload.tier,
        ),
    )


async def on_error_logged(event: CloudEvent, payload: ErrorLogged, session: AsyncSession) -> None:
    """A technical failure: it counts toward the tool's reliability note."""
    from services.catalog.reliability.service import record_error

    if not await _tool_exists(session, event, payload.tool_id):
        return
    await record_error(session, district_id=event.districtid, payload=payload)


HANDLERS: dict[type[EventPayload], Handler] = {
    PilotStarted: on_pilot_started,
    PilotCompleted: on_pilot_completed,
    PilotCancelled: on_pilot_cancelled,
    UtilizationDropped: on_utilization_dropped,
    LicenseDormant: on_license_dormant,
    LicenseSeatsUsed: on_license_seats_used,
    ErrorLogged: on_error_logged,
    OutcomeEvidenceAttached: on_outcome_evidence_attached,
    TimeOnTaskFell: on_time_on_task_fell,
    DistrictTimeZoneChanged: on_district_time_zone_changed,
}
