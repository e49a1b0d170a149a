"""Rules for sunsetting.

A tool becomes a removal candidate from a `utilization-dropped` event or by hand (a flag). Scheduling
its retirement moves an adopted tool to `sunsetting` and records the notice (the district's notice
days unless given), the teachers to notify (given, else those of the tool's latest open
utilization-dropped flag) and where student work is archived. When the notice ends the retirement
job moves the tool to `retired`; a tool moved back to `adopted` meanwhile has its retirement cancelled.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from services.catalog.models import Retirement, ToolFlag
from services.catalog.sunsetting.repository import SunsettingRepository
from services.catalog.sunsetting.schemas import RetirementCreate
from services.catalog.tools.repository import ToolRepository
from services.catalog.tools.service import get_tool, transition
from shared.db import try_advisory_lock, utcnow
from shared.errors import Conflict, NotFound

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
        flag.resolved_at = utcnow()
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
    now: dt.datetime | None = None,
) -> Retirement:
    """Start the retirement notice of an adopted tool (it moves to `sunsetting`)."""
    repo = SunsettingRepository(session)
    tool = await get_tool(session, district_id=district_id, tool_id=tool_id)
    if await repo.scheduled_retirement(district_id=district_id, tool_id=tool.id) is not None:
        raise Conflict(f"{tool.name} already has a retirement scheduled")
    now = now or utcnow()
    notice_days = data.notice_days if data.notice_days is not None else default_notice_days
    teacher_ids = data.teacher_ids
    if teacher_ids is None:
        flag = await repo.latest_open_flag(tool_id=tool.id, source="utilization_dropped")
        teacher_ids = list(flag.data.get("teacher_ids", [])) if flag else []
    ends = now + dt.timedelta(days=notice_days)
    reason = data.reason or "retirement scheduled"
    await transition(
        session,
        district_id=district_id,
        tool_id=tool.id,
        to_status="sunsetting",
        actor=actor,
        reason=f"{reason}; notice ends {ends.date().isoformat()}",
    )
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
            async with runtime.db.transaction() as session:
                # One replica at a time; the others find the work done at their next pass.
                if await try_advisory_lock(session, "catalog:retirement-job"):
                    retired, _ = await retire_due(session, now=utcnow())
                    if retired:
                        log.info("tools_retired", count=len(retired))
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("retirement_job_failed", error=repr(exc))
        await asyncio.sleep(interval)
