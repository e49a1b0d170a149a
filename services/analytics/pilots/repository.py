"""Queries on pilot cohorts."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.analytics.models import PilotCohort


class PilotRepository:
    """Pilot cohorts of one session."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, *, district_id: str, pilot_id: uuid.UUID) -> PilotCohort | None:
        """A district's pilot cohort, or None."""
        return await self.session.get(PilotCohort, (district_id, pilot_id))

    async def districts_of(self, *, pilot_id: uuid.UUID) -> set[str]:
        """The districts whose cohorts hold `pilot_id` (for `shared.ownership`)."""
        return set(
            await self.session.scalars(
                select(PilotCohort.district_id).where(PilotCohort.pilot_id == pilot_id)
            )
        )

    async def add(self, cohort: PilotCohort) -> None:
        """Stage a new cohort."""
        self.session.add(cohort)
        await self.session.flush()
