"""Queries on pilot decisions; the only place their SQL lives."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.catalog.models import PilotDecision


class PilotDecisionRepository:
    """Pilot decisions of one session."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def exists(self, *, district_id: str, pilot_id: uuid.UUID, decided_at: dt.datetime) -> bool:
        """Whether this decision is already recorded."""
        found = await self.session.scalar(
            select(PilotDecision.id).where(
                PilotDecision.district_id == district_id,
                PilotDecision.pilot_id == pilot_id,
                PilotDecision.decided_at == decided_at,
            )
        )
        return found is not None

    async def add(self, decision: PilotDecision) -> None:
        """Stage a decision."""
        self.session.add(decision)
        await self.session.flush()

    async def latest(self, *, district_id: str, tool_id: uuid.UUID) -> PilotDecision | None:
        """The tool's most recent pilot decision, or None."""
        return (
            await self.session.execute(
                select(PilotDecision)
                .where(PilotDecision.district_id == district_id, PilotDecision.tool_id == tool_id)
                .order_by(PilotDecision.decided_at.desc())
                .limit(1)
            )
        ).scalar_one_or_none()
