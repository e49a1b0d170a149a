"""Rules for rollouts and tool fatigue.

A rollout introduces a tool to one school or grade team in one semester. "The six-point checklist
gates every rollout" and "nothing enters classrooms without testing" (DOMAIN.md), so a rollout is
planned and approved only for a tool that is:

* `adopted`, after a pilot decided to adopt it (its most recent `pilot-completed` decision is `adopt`;
  a tool adopted by hand, without a pilot, cannot be rolled out);
* passed on all six checklist points: a point still pending blocks; a failed point other than privacy
  passes only with a checklist override, recorded on the rollout with who gave it, why and which points
  it covers (given when planning or when approving); a privacy failure never passes.

Both are checked when the rollout is planned and again when it is approved. Approving a rollout when
the scope already has `fatigue_limit` other new tools that semester is refused (409) unless an
`override_reason` is given; the reason is stored on the rollout. A school's new tools are its approved
rollouts and the tools piloted there (a `pilot-started` naming the school): a pilot puts a new platform
in front of its teachers too. A day's semester: January-May spring, June-July summer, August-December
fall (`semester_of`).
"""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from services.catalog.checklist.repository import ChecklistRepository
from services.catalog.checklist.schemas import POINTS
from services.catalog.decisions.service import adopt_decision
from services.catalog.fatigue.repository import RolloutRepository
from services.catalog.fatigue.schemas import RolloutCreate, RolloutRead
from services.catalog.models import Rollout, SchoolPilot, Tool
from services.catalog.tools.repository import ToolRepository
from shared.db import utcnow
from shared.errors import Conflict, NotFound, Unprocessable
from shared.events import PilotStarted
from shared.ownership import unknown_here

ROLLABLE = frozenset({"adopted"})


async def _check_rollable(
    session: AsyncSession, *, tool: Tool, rollout: Rollout | None, override_reason: str | None, actor: str
) -> list[str]:
    """Refuse (409) a rollout of a tool the rules above do not allow; returns the failed points the
    override (given now, or recorded on the rollout) covers."""
    items = await ChecklistRepository(session).by_point(tool_id=tool.id)
    privacy = items.get("privacy")
    if privacy is not None and privacy.result == "fail":
        raise Conflict(
            f"{tool.name} failed the data privacy point: it cannot be rolled out", slug="privacy-failure"
        )
    if tool.status not in ROLLABLE:
        raise Conflict(
            f"{tool.name} is {tool.status}; only an adopted tool (a pilot decided to adopt it) can be "
            "rolled out",
            slug="rollout-gate",
            blocking=[f"status {tool.status}"],
        )
    blocking: list[str] = []
    if await adopt_decision(session, district_id=tool.district_id, tool_id=tool.id) is None:
        blocking.append("no pilot decided to adopt it (nothing enters classrooms without testing)")
    results = {point: items[point].result if point in items else "pending" for point in POINTS}
    pending = [p for p in POINTS if results[p] == "pending"]
    failed: list[str] = [p for p in POINTS if results[p] == "fail"]
    if pending:
        blocking.append(f"checklist points not passed yet: {', '.join(pending)}")
    covered = list(rollout.checklist_override_points) if rollout is not None else []
    uncovered = [p for p in failed if p not in covered]
    if uncovered and not override_reason:
        blocking.append(
            f"checklist points failed: {', '.join(uncovered)} (give checklist_override_reason to roll "
            "out anyway)"
        )
    if blocking:
        raise Conflict(
            f"{tool.name} cannot be rolled out: " + "; ".join(blocking),
            slug="rollout-gate",
            blocking=blocking,
        )
    if uncovered and rollout is not None:
        rollout.checklist_override_reason, rollout.checklist_override_by = override_reason, actor
        rollout.checklist_override_points = failed
    return failed


def semester_of(day: dt.date) -> str:
    """The semester a day falls in, as rollouts name it (`2026-fall`)."""
    season = "spring" if day.month <= 5 else "summer" if day.month <= 7 else "fall"
    return f"{day.year}-{season}"


async def count_school_pilot(session: AsyncSession, *, district_id: str, payload: PilotStarted) -> None:
    """A pilot began in a school: its tool counts toward the school's limit for that semester."""
    if not payload.school_id:
        return
    await RolloutRepository(session).add_school_pilot(
        SchoolPilot(
            district_id=district_id,
            pilot_id=payload.pilot_id,
            tool_id=payload.tool_id,
            school_id=payload.school_id[:100],
            semester=semester_of(payload.start_date),
            start_date=payload.start_date,
        )
    )


async def to_read(session: AsyncSession, rollout: Rollout, *, limit: int) -> RolloutRead:
    """A rollout with its scope's count against the limit."""
    count = await RolloutRepository(session).approved_tools_in_scope(
        district_id=rollout.district_id,
        scope=rollout.scope,
        scope_id=rollout.scope_id,
        semester=rollout.semester,
        excluding_tool=rollout.tool_id,
    )
    read = RolloutRead.model_validate(rollout)
    read.approved_in_scope, read.limit = count, limit
    read.would_exceed = rollout.status == "planned" and count >= limit
    return read


async def plan_rollout(
    session: AsyncSession, *, district_id: str, actor: str, data: RolloutCreate
) -> Rollout:
    """Plan a rollout of an adopted, fully vetted tool (422 if the district has no such tool, 409 if
    already planned or the rules refuse it)."""
    tool = await ToolRepository(session).get(district_id=district_id, tool_id=data.tool_id)
    if tool is None:
        raise Unprocessable(unknown_here("tool", data.tool_id), field="tool_id")
    failed = await _check_rollable(
        session, tool=tool, rollout=None, override_reason=data.checklist_override_reason, actor=actor
    )
    repo = RolloutRepository(session)
    if await repo.find(
        district_id=district_id,
        tool_id=tool.id,
        scope=data.scope,
        scope_id=data.scope_id,
        semester=data.semester,
    ):
        raise Conflict(f"{tool.name} is already planned for {data.scope} {data.scope_id} in {data.semester}")
    return await repo.add(
        Rollout(
            district_id=district_id,
            tool_id=tool.id,
            scope=data.scope,
            scope_id=data.scope_id,
            semester=data.semester,
            status="planned",
            checklist_override_reason=data.checklist_override_reason if failed else None,
            checklist_override_by=actor if failed else None,
            checklist_override_points=failed,
            created_by=actor,
        )
    )


async def approve_rollout(
    session: AsyncSession,
    *,
    district_id: str,
    rollout_id: uuid.UUID,
    actor: str,
    override_reason: str | None,
    limit: int,
    checklist_override_reason: str | None = None,
) -> Rollout:
    """Approve a rollout if the tool may still be rolled out, refusing one over the fatigue limit unless
    an override reason is given."""
    repo = RolloutRepository(session)
    rollout = await repo.get(district_id=district_id, rollout_id=rollout_id, for_update=True)
    if rollout is None:
        raise NotFound(f"rollout {rollout_id} not found")
    if rollout.status == "approved":
        raise Conflict("this rollout is already approved")
    tool = await ToolRepository(session).get(district_id=district_id, tool_id=rollout.tool_id)
    assert tool is not None  # a rollout's tool is deleted with it
    await _check_rollable(
        session, tool=tool, rollout=rollout, override_reason=checklist_override_reason, actor=actor
    )
    await repo.lock_scope(
        district_id=district_id, scope=rollout.scope, scope_id=rollout.scope_id, semester=rollout.semester
    )
    count = await repo.approved_tools_in_scope(
        district_id=district_id,
        scope=rollout.scope,
        scope_id=rollout.scope_id,
        semester=rollout.semester,
        excluding_tool=rollout.tool_id,
    )
    if count >= limit and not override_reason:
        label = "school" if rollout.scope == "school" else "grade team"
        raise Conflict(
            f"{label} {rollout.scope_id} already has {count} new tools approved or piloted for "
            f"{rollout.semester}; "
            f"this one would make {count + 1}, over the district's limit of {limit} per semester. "
            "Give override_reason to approve anyway.",
            slug="tool-fatigue",
            approved_in_scope=count,
            limit=limit,
        )
    rollout.status = "approved"
    rollout.override_reason = override_reason if count >= limit else None
    rollout.approved_by, rollout.approved_at = actor, utcnow()
    await session.flush()
    return rollout
