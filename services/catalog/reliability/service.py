"""Rules for reliability: each reported error counts once (by its error id)."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from services.catalog.models import ToolError
from services.catalog.reliability.repository import ToolErrorRepository
from services.catalog.reliability.schemas import ReliabilityRead
from services.catalog.tools.service import get_tool
from shared.events import ErrorLogged

SEVERITIES = ("low", "medium", "high", "critical")


async def record_error(session: AsyncSession, *, district_id: str, payload: ErrorLogged) -> bool:
    """Count a reported error toward the tool's reliability; False if already counted."""
    repo = ToolErrorRepository(session)
    if await repo.exists(district_id=district_id, error_id=payload.error_id):
        return False
    await repo.add(
        ToolError(
            district_id=district_id,
            tool_id=payload.tool_id,
            error_id=payload.error_id,
            pilot_id=payload.pilot_id,
            severity=payload.severity,
            class_period=payload.class_period,
            source=payload.source,
            description=payload.description[:10_000],
            occurred_at=payload.occurred_at,
        )
    )
    return True


async def reliability(session: AsyncSession, *, district_id: str, tool_id: uuid.UUID) -> ReliabilityRead:
    """The tool's reliability note."""
    tool = await get_tool(session, district_id=district_id, tool_id=tool_id)
    repo = ToolErrorRepository(session)
    counts = await repo.by_severity(tool_id=tool.id)
    by_severity = {s: counts.get(s, 0) for s in SEVERITIES}
    total = sum(by_severity.values())
    last = await repo.last_error_at(tool_id=tool.id)
    if total == 0:
        note = "no errors reported"
    else:
        serious = by_severity["high"] + by_severity["critical"]
        note = (
            f"{total} error{'s' if total != 1 else ''} reported ({serious} high or critical), "
            f"last at {last.isoformat() if last else 'unknown'}"
        )
    return ReliabilityRead(
        tool_id=tool.id,
        total_errors=total,
        by_severity=by_severity,
        by_class_period=await repo.by_class_period(tool_id=tool.id),
        last_error_at=last,
        note=note,
    )
