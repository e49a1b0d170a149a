"""Rules for tool fatigue.

A rollout introduces a tool to one school or grade team in one semester. Only tools approved for a
pilot, piloting or adopted, and never one whose privacy point failed, can be rolled out. Approving a
rollout when the scope already has `fatigue_limit` other approved tools that semester is refused
(409) unless an `override_reason` is given; the reason is stored on the rollout.
"""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from services.catalog.checklist.repository import ChecklistRepository
from services.catalog.fatigue.repository import RolloutRepository
from services.catalog.fatigue.schemas import RolloutCreate, RolloutRead
from services.catalog.models import Rollout
from services.catalog.tools.repository import ToolRepository
from shared.db import utcnow
from shared.errors import Conflict, NotFound, Unprocessable
from shared.ownership import unknown_here

ROLLABLE = frozenset({"approved_for_pilot", "piloting", "adopted"})


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
    """Plan a rollout of a vetted tool (422 if the district has no such tool, 409 if already planned or
    the tool cannot be rolled out)."""
    tool = await ToolRepository(session).get(district_id=district_id, tool_id=data.tool_id)
    if tool is None:
        raise Unprocessable(unknown_here("tool", data.tool_id), field="tool_id")
    privacy = (await ChecklistRepository(session).by_point(tool_id=tool.id)).get("privacy")
    if privacy is not None and privacy.result == "fail":
        raise Conflict(
            f"{tool.name} failed the data privacy point: it cannot be rolled out", slug="privacy-failure"
        )
    if tool.status not in ROLLABLE:
        raise Conflict(
            f"{tool.name} is {tool.status}; only tools that are "
            f"{', '.join(sorted(ROLLABLE))} can be rolled out"
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
) -> Rollout:
    """Approve a rollout, refusing one over the fatigue limit unless an override reason is given."""
    repo = RolloutRepository(session)
    rollout = await repo.get(district_id=district_id, rollout_id=rollout_id, for_update=True)
    if rollout is None:
        raise NotFound(f"rollout {rollout_id} not found")
    if rollout.status == "approved":
        raise Conflict("this rollout is already approved")
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
            f"{label} {rollout.scope_id} already has {count} new tools approved for {rollout.semester}; "
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
