"""Business rules for pilots: the plan's checks, the lifecycle state machine and its events."""

from __future__ import annotations

import datetime as dt
import uuid

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from services.pilots.district_settings.schemas import PilotSettingsRead
from services.pilots.events import outbox
from services.pilots.models import Pilot, PilotTransition
from services.pilots.observations.service import schedule_slots
from services.pilots.plans.repository import PilotRepository
from services.pilots.plans.schemas import PilotCreate, PilotDecisionCreate, PilotRead
from services.pilots.tools.repository import ToolRepository
from services.pilots.tools.service import PILOTABLE, ensure_pilotable, not_pilotable
from shared.auth import Principal
from shared.clock import clock_of
from shared.config import Role
from shared.errors import Conflict, NotFound, Unprocessable
from shared.events import PilotCancelled, PilotCompleted, PilotStarted
from shared.lifecycle import Lifecycle

TRANSITIONS: dict[str, frozenset[str]] = {
    "planned": frozenset({"active", "cancelled"}),
    "active": frozenset({"evaluating", "cancelled"}),
    "evaluating": frozenset({"decided", "active", "cancelled"}),
    "decided": frozenset(),
    "cancelled": frozenset(),
}
LIFECYCLE = Lifecycle("pilot", TRANSITIONS)
"""Allowed moves; `evaluating -> active` is an `extend` decision."""

STAFF_ROLES: tuple[Role, ...] = ("edtech", "specialist", "admin")


def end_date_of(start_date: dt.date, weeks: int) -> dt.date:
    """The last day of a pilot of `weeks` weeks starting on `start_date`."""
    return start_date + dt.timedelta(days=7 * weeks - 1)


def to_read(pilot: Pilot, teacher_ids: list[str]) -> PilotRead:
    """A pilot and its teachers as a response body."""
    return PilotRead.model_validate(
        {**{c.key: getattr(pilot, c.key) for c in Pilot.__table__.columns}, "teacher_ids": teacher_ids}
    )


async def create_pilot(
    session: AsyncSession,
    *,
    principal: Principal,
    rules: PilotSettingsRead,
    data: PilotCreate,
    catalog: httpx.AsyncClient | None,
) -> Pilot:
    """Plan a pilot after checking teachers, length and classes, and that the tool is approved for pilot."""
    teacher_ids = list(dict.fromkeys(t.strip() for t in data.teacher_ids if t.strip()))
    if len(teacher_ids) < rules.min_teachers:
        raise Unprocessable(
            f"a pilot needs at least {rules.min_teachers} distinct volunteer teachers, "
            f"got {len(teacher_ids)}",
            field="teacher_ids",
        )
    weeks = data.weeks if data.weeks is not None else rules.default_weeks
    if not rules.min_weeks <= weeks <= rules.max_weeks:
        raise Unprocessable(
            f"a pilot lasts {rules.min_weeks} to {rules.max_weeks} weeks, not {weeks}", field="weeks"
        )
    for i, cls in enumerate(data.classes):
        if cls.teacher_id is not None and cls.teacher_id not in teacher_ids:
            raise Unprocessable(
                f"class {cls.name!r} names teacher {cls.teacher_id!r}, who is not in the pilot",
                field=f"classes.{i}.teacher_id",
            )
    tool = await ensure_pilotable(session, principal=principal, tool_id=data.tool_id, catalog=catalog)
    repo = PilotRepository(session)
    pilot = await repo.add(
        Pilot(
            district_id=principal.district_id,
            tool_id=tool.id,
            title=data.title,
            goals=data.goals,
            classes=[c.model_dump() for c in data.classes],
            school_id=data.school_id,
            start_date=data.start_date,
            weeks=weeks,
            end_date=end_date_of(data.start_date, weeks),
            status="planned",
            created_by=principal.subject,
        ),
        teacher_ids,
    )
    await repo.add_transition(
        PilotTransition(
            pilot_id=pilot.id,
            district_id=pilot.district_id,
            from_status=None,
            to_status="planned",
            actor=principal.subject,
            reason="planned",
        )
    )
    return pilot


async def get_pilot(
    session: AsyncSession, *, principal: Principal, pilot_id: uuid.UUID, for_update: bool = False
) -> Pilot:
    """A pilot the caller may see: any of the district for staff, their own for a teacher; 404 otherwise."""
    pilot = await PilotRepository(session).get(
        district_id=principal.district_id, pilot_id=pilot_id, for_update=for_update
    )
    if pilot is None:
        raise NotFound(f"pilot {pilot_id} not found")
    if not principal.has_any(*STAFF_ROLES):
        teachers = await teacher_ids_of(session, pilot=pilot)
        if principal.subject not in teachers:
            raise NotFound(f"pilot {pilot_id} not found")
    return pilot


async def teacher_ids_of(session: AsyncSession, *, pilot: Pilot) -> list[str]:
    """The pilot's teachers, in plan order."""
    return (await PilotRepository(session).teacher_ids(pilot_ids=[pilot.id])).get(pilot.id, [])


async def _move(
    session: AsyncSession,
    pilot: Pilot,
    to_status: str,
    *,
    actor: str,
    reason: str | None,
    decision: str | None = None,
) -> None:
    LIFECYCLE.check(pilot.status, to_status)
    from_status, pilot.status = pilot.status, to_status
    await PilotRepository(session).add_transition(
        PilotTransition(
            pilot_id=pilot.id,
            district_id=pilot.district_id,
            from_status=from_status,
            to_status=to_status,
            decision=decision,
            actor=actor,
            reason=reason,
            at=clock_of(session).now(),
        )
    )


async def start_pilot(
    session: AsyncSession,
    *,
    principal: Principal,
    rules: PilotSettingsRead,
    pilot_id: uuid.UUID,
    start_date: dt.date | None = None,
) -> Pilot:
    """Start a planned pilot: schedule its observations and publish `pilot-started`."""
    pilot = await get_pilot(session, principal=principal, pilot_id=pilot_id, for_update=True)
    if pilot.status != "planned":
        raise Conflict(
            f"only a planned pilot can start; this one is {pilot.status}", current_status=pilot.status
        )
    tool = await ToolRepository(session).get(district_id=pilot.district_id, tool_id=pilot.tool_id)
    if tool is not None and tool.status not in PILOTABLE:
        raise not_pilotable(tool, doing="start")
    await _move(session, pilot, "active", actor=principal.subject, reason="started")
    if start_date is not None:
        pilot.start_date, pilot.end_date = start_date, end_date_of(start_date, pilot.weeks)
    teachers = await teacher_ids_of(session, pilot=pilot)
    await schedule_slots(
        session,
        pilot=pilot,
        teacher_ids=teachers,
        per_week=rules.observations_per_week,
        weeks=range(1, pilot.weeks + 1),
    )
    await outbox.add(
        session,
        PilotStarted(
            tool_id=pilot.tool_id,
            pilot_id=pilot.id,
            teacher_ids=teachers,
            start_date=pilot.start_date,
            end_date=pilot.end_date,
            classes=[f"{c['name']} (period {c['period']})" for c in pilot.classes],
            school_id=pilot.school_id,
        ),
        district_id=pilot.district_id,
    )
    return pilot


async def evaluate_pilot(session: AsyncSession, *, principal: Principal, pilot_id: uuid.UUID) -> Pilot:
    """Close classroom use of an active pilot: it is now being evaluated."""
    pilot = await get_pilot(session, principal=principal, pilot_id=pilot_id, for_update=True)
    await _move(session, pilot, "evaluating", actor=principal.subject, reason="evaluation began")
    return pilot


async def decide_pilot(
    session: AsyncSession,
    *,
    principal: Principal,
    rules: PilotSettingsRead,
    pilot_id: uuid.UUID,
    data: PilotDecisionCreate,
) -> Pilot:
    """Decide an evaluated pilot (adopt / extend / reject) and publish `pilot-completed`."""
    pilot = await get_pilot(session, principal=principal, pilot_id=pilot_id, for_update=True)
    if pilot.status != "evaluating":
        raise Conflict(
            f"a {pilot.status} pilot cannot be decided; evaluate it first (POST .../evaluate)",
            current_status=pilot.status,
        )
    if data.extend_weeks is not None and data.decision != "extend":
        raise Unprocessable("extend_weeks only applies to an `extend` decision", field="extend_weeks")
    now = clock_of(session).now()
    new_end_date = None
    if data.decision == "extend":
        extra = data.extend_weeks or 1
        if pilot.weeks + extra > rules.max_weeks:
            raise Unprocessable(
                f"extending a {pilot.weeks}-week pilot by {extra} week(s) passes the district's maximum of "
                f"{rules.max_weeks} weeks",
                field="extend_weeks",
            )
        await _move(
            session, pilot, "active", actor=principal.subject, reason=data.rationale, decision="extend"
        )
        first_new_week = pilot.weeks + 1
        pilot.weeks += extra
        pilot.end_date = new_end_date = end_date_of(pilot.start_date, pilot.weeks)
        await schedule_slots(
            session,
            pilot=pilot,
            teacher_ids=await teacher_ids_of(session, pilot=pilot),
            per_week=rules.observations_per_week,
            weeks=range(first_new_week, pilot.weeks + 1),
        )
    else:
        await _move(
            session, pilot, "decided", actor=principal.subject, reason=data.rationale, decision=data.decision
        )
    pilot.decision, pilot.rationale, pilot.decided_at, pilot.decided_by = (
        data.decision,
        data.rationale,
        now,
        principal.subject,
    )
    await outbox.add(
        session,
        PilotCompleted(
            tool_id=pilot.tool_id,
            pilot_id=pilot.id,
            decision=data.decision,
            rationale=data.rationale,
            decided_at=now,
            new_end_date=new_end_date,
        ),
        district_id=pilot.district_id,
    )
    return pilot


async def cancel_pilot(
    session: AsyncSession, *, principal: Principal, pilot_id: uuid.UUID, reason: str | None
) -> Pilot:
    """Cancel a pilot that is not decided yet and publish `pilot-cancelled` (with how many of the
    tool's pilots still run, so the catalog knows whether the tool is still being piloted)."""
    pilot = await get_pilot(session, principal=principal, pilot_id=pilot_id, for_update=True)
    was_started = pilot.status in ("active", "evaluating")
    await _move(session, pilot, "cancelled", actor=principal.subject, reason=reason or "cancelled")
    await session.flush()
    remaining = await PilotRepository(session).count_running(
        district_id=pilot.district_id, tool_id=pilot.tool_id
    )
    await outbox.add(
        session,
        PilotCancelled(
            tool_id=pilot.tool_id,
            pilot_id=pilot.id,
            reason=reason,
            cancelled_at=clock_of(session).now(),
            was_started=was_started,
            active_pilots_remaining=remaining,
        ),
        district_id=pilot.district_id,
    )
    return pilot


def visible_teacher(principal: Principal, teacher_id: str | None) -> str | None:
    """The teacher filter a caller may use: staff any, a teacher only themselves."""
    return teacher_id if principal.has_any(*STAFF_ROLES) else principal.subject
