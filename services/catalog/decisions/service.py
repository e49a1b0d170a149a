"""Rules for pilot decisions: each recorded once; a tool counts as decided for adoption when its most
recent pilot decision is `adopt` (a later `reject` or `extend` takes the adoption back)."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from services.catalog.decisions.repository import PilotDecisionRepository
from services.catalog.models import PilotDecision
from shared.events import PilotCompleted


async def record_decision(session: AsyncSession, *, district_id: str, payload: PilotCompleted) -> None:
    """Keep a pilot's decision about its tool (a replayed event adds nothing)."""
    repo = PilotDecisionRepository(session)
    if await repo.exists(district_id=district_id, pilot_id=payload.pilot_id, decided_at=payload.decided_at):
        return
    await repo.add(
        PilotDecision(
            district_id=district_id,
            tool_id=payload.tool_id,
            pilot_id=payload.pilot_id,
            decision=payload.decision,
            rationale=payload.rationale,
            decided_at=payload.decided_at,
        )
    )


async def adopt_decision(
    session: AsyncSession, *, district_id: str, tool_id: uuid.UUID
) -> PilotDecision | None:
    """The pilot decision that adopted the tool, if its most recent decision is `adopt`."""
    latest = await PilotDecisionRepository(session).latest(district_id=district_id, tool_id=tool_id)
    return latest if latest is not None and latest.decision == "adopt" else None
