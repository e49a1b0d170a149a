"""Rules for sunsetting.

A tool becomes a removal candidate from a `utilization-dropped` event or by hand (a flag). Scheduling
its retirement moves an adopted tool to `sunsetting` and records the notice (the district's notice
days unless given), the teachers to tell and where student work is archived. The teachers are those
who actually used the tool in the `retirement_usage_days` before (asked of analytics, with their roster
emails), plus any named by hand; each gets a notice (`notices`), and `tool-retirement-scheduled` is
published. When the notice ends the retirement job moves the tool to `retired`.

A retirement is called off by moving the tool back to `adopted` (`POST .../retirement/cancel` or the
transition itself): the scheduled retirement becomes `cancelled` in the same transaction, the same
teachers get a cancellation notice and `tool-retirement-cancelled` is published; a cancelled retirement
never blocks a new one. Times come from the service clock (`shared.clock`).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from services.catalog.district_settings.service import district_time_zone
from services.catalog.events import outbox
from services.catalog.models import Retirement, Tool, ToolFlag
from services.catalog.notices.repository import NoticeRepository
from services.catalog.notices.service import write_notices
from services.catalog.sunsetting.repository import SunsettingRepository
from services.catalog.sunsetting.schemas import RetirementCreate
from services.catalog.tools.repository import ToolRepository
from services.catalog.tools.service import LIFECYCLE, get_tool, transition
from shared.clock import clock_of
from shared.db import try_advisory_lock
from shared.errors import Conflict, NotFound
from shared.events import ToolRetirementCancelled, ToolRetirementScheduled
from shared.metrics import job_run
from shared.time_zones import local_date

if TYPE_CHECKING:
    from shared.service import ServiceRuntime

log = structlog.get_logger(__name__)

JOB_ACTOR = "catalog:retirement-job"


async def add_flag(
    session: AsyncSession,
    *,
    district_id: str,
    tool_id: uuid.UUID,
    kind: str,
    source: str,
    actor: str,
    note: str | None = None,
    data: dict[str, Any] | None = None,
    event_id: str | None = None,
) -> ToolFlag:
    """Flag a tool for review or as a removal candidate."""
    tool = await get_tool(session, district_id=district_id, tool_id=tool_id)
    flag = ToolFlag(
        district_id=district_id,
        tool_id=tool.id,
        kind=kind,
        source=source,
        event_id=event_id,
        note=note,
        data=data or {},
        created_by=actor,
    )
    await SunsettingRepository(session).add(flag)
    return flag


async def resolve_flag(
    session: AsyncSession, *, district_id: str, tool_id: uuid.UUID, flag_id: uuid.UUID
) -> ToolFlag:
    """Mark a flag resolved (idempotent)."""
    flag = await SunsettingRepository(session).flag(district_id=district_id, tool_id=tool_id, flag_id=flag_id)
    if flag is None:
        raise NotFound(f"flag {flag_id} not found")
    if flag.resolved_at is None:
        flag.resolved_at = clock_of(session).now()
        await session.flush()
    return flag


async def schedule_retirement(
    session: AsyncSession,
    *,
    district_id: str,
    tool_id: uuid.UUID,
    actor: str,
    data: RetirementCreate,
    default_notice_days: int,
    find_recipients: Callable[[], Awaitable[Mapping[str, str | None]]],
) -> Retirement:
    """Start the retirement notice of an adopted tool (it moves to `sunsetting`) and write a notice to
    each teacher `find_recipients` gives (teacher id -> email or None), once the tool may retire."""
    repo = SunsettingRepository(session)
    tool = await get_tool(session, district_id=district_id, tool_id=tool_id)
    if await repo.scheduled_retirement(district_id=district_id, tool_id=tool.id) is not None:
        raise Conflict(f"{tool.name} already has a retirement scheduled")
    LIFECYCLE.check(tool.status, "sunsetting")
    recipients = await find_recipients()
    now = clock_of(session).now()
    notice_days = data.notice_days if data.notice_days is not None else default_notice_days
    ends = now + dt.timedelta(days=notice_days)
    reason = data.reason or "retirement scheduled"
    ends_on = local_date(ends, await district_time_zone(session, district_id=district_id))
    await transition(
        session,
        district_id=district_id,
        tool_id=tool.id,
        to_status="sunsetting",
        actor=actor,
        reason=f"{reason}; notice ends {ends_on.isoformat()}",
    )
    teacher_ids = sorted(recipients)
    retirement = Retirement(
        district_id=district_id,
        tool_id=tool.id,
        status="scheduled",
        notice_days=notice_days,
        notice_starts_at=now,
        notice_ends_at=ends,
        teacher_ids=teacher_ids,
        archive_location=data.archive_location,
        reason=data.reason,
        scheduled_by=actor,
    )
    await repo.add(retirement)
    await write_notices(session, tool=tool, retirement=retirement, kind="retirement", recipients=recipients)
    await outbox.add(
        session,
        ToolRetirementScheduled(
            tool_id=tool.id,
            retirement_id=retirement.id,
            tool_name=tool.name,
            notice_starts_at=now,
            notice_ends_at=ends,
            archive_location=data.archive_location,
            reason=data.reason,
            teacher_ids=teacher_ids,
            scheduled_by=actor,
        ),
        district_id=district_id,
    )
    return retirement


async def cancel_scheduled(session: AsyncSession, *, tool: Tool, actor: str, reason: str | None) -> None:
    """Call off the tool's scheduled retirement (the tool is moving back to `adopted`): cancellation
    notices to the teachers told, and `tool-retirement-cancelled`. Nothing scheduled: nothing happens."""
    repo = SunsettingRepository(session)
    retirement = await repo.scheduled_retirement(district_id=tool.district_id, tool_id=tool.id)
    if retirement is None:
        return
    now = clock_of(session).now()
    retirement.status, retirement.cancelled_at = "cancelled", now
    retirement.cancelled_by, retirement.cancel_reason = actor, reason
    told = await NoticeRepository(session).of_retirement(retirement_id=retirement.id, kind="retirement")
    await write_notices(
        session,
        tool=tool,
        retirement=retirement,
        kind="cancellation",
        recipients={n.teacher_id: n.email for n in told},
    )
    await outbox.add(
        session,
        ToolRetirementCancelled(
            tool_id=tool.id,
            retirement_id=retirement.id,
            tool_name=tool.name,
            reason=reason,
            teacher_ids=sorted(n.teacher_id for n in told),
            cancelled_by=actor,
            cancelled_at=now,
        ),
        district_id=tool.district_id,
    )


async def cancel_retirement(
    session: AsyncSession, *, district_id: str, tool_id: uuid.UUID, actor: str, reason: str | None
) -> Retirement:
    """Call off a tool's scheduled retirement: it moves back to `adopted` (409 if none is scheduled)."""
    tool = await get_tool(session, district_id=district_id, tool_id=tool_id)
    retirement = await SunsettingRepository(session).scheduled_retirement(
        district_id=district_id, tool_id=tool.id
    )
    if retirement is None:
        raise Conflict(f"{tool.name} has no retirement scheduled", current_status=tool.status)
    LIFECYCLE.check(tool.status, "adopted")
    await cancel_scheduled(session, tool=tool, actor=actor, reason=reason)
    await transition(
        session,
        district_id=district_id,
        tool_id=tool.id,
        to_status="adopted",
        actor=actor,
        reason=f"retirement cancelled{f': {reason}' if reason else ''}",
    )
    return retirement


async def latest_retirement(session: AsyncSession, *, district_id: str, tool_id: uuid.UUID) -> Retirement:
    """The tool's most recent retirement; 404 if none was ever scheduled."""
    tool = await get_tool(session, district_id=district_id, tool_id=tool_id)
    row = await SunsettingRepository(session).latest_retirement(district_id=district_id, tool_id=tool.id)
    if row is None:
        raise NotFound(f"no retirement was scheduled for tool {tool_id}")
    return row


async def retire_due(
    session: AsyncSession, *, now: dt.datetime, district_id: str | None = None
) -> tuple[Sequence[Retirement], Sequence[Retirement]]:
    """Retire every tool whose notice ended by `now`; returns (retired, cancelled) retirements."""
    repo = SunsettingRepository(session)
    tools = ToolRepository(session)
    retired, cancelled = [], []
    for retirement in await repo.due_retirements(now=now, district_id=district_id):
        tool = await tools.get(district_id=retirement.district_id, tool_id=retirement.tool_id)
        if tool is None or tool.status != "sunsetting":
            retirement.status = "cancelled"
            cancelled.append(retirement)
            continue
        await transition(
            session,
            district_id=retirement.district_id,
            tool_id=tool.id,
            to_status="retired",
            actor=JOB_ACTOR,
            reason=f"retirement notice ended; student work archived at {retirement.archive_location}",
        )
        retirement.status = "retired"
        retirement.retired_at = now
        await repo.resolve_flags(tool_id=tool.id, at=now)
        retired.append(retirement)
    await session.flush()
    return retired, cancelled


async def retirement_job(runtime: ServiceRuntime) -> None:
    """Background job: retire tools whose notice ended, every `retirement_job_interval_s` seconds."""
    interval = float(getattr(runtime.settings, "retirement_job_interval_s", 3600.0))
    while True:
        try:
            async with job_run(runtime.name, "retirement"), runtime.db.transaction() as session:
                # One replica at a time; the others find the work done at their next pass.
                if await try_advisory_lock(session, "catalog:retirement-job"):
                    retired, _ = await retire_due(session, now=runtime.clock.now())
                    if retired:
                        log.info("tools_retired", count=len(retired))
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("retirement_job_failed", error=repr(exc))
        await asyncio.sleep(interval)
