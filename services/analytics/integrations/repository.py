"""Queries on integrations."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.analytics.models import Integration


class IntegrationRepository:
    """Integrations of one session."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def by_id(self, integration_id: uuid.UUID) -> Integration | None:
        """An integration by id whatever its district (webhooks carry no user token)."""
        return await self.session.get(Integration, integration_id)

    async def get(self, *, district_id: str, integration_id: uuid.UUID) -> Integration | None:
        """A district's integration, or None."""
        stmt = select(Integration).where(
            Integration.id == integration_id, Integration.district_id == district_id
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def list(self, *, district_id: str, limit: int, offset: int) -> tuple[Sequence[Integration], int]:
        """A page of a district's integrations, newest first."""
        where = Integration.district_id == district_id
        total = await self.session.scalar(select(func.count()).select_from(Integration).where(where))
        rows = await self.session.scalars(
            select(Integration)
            .where(where)
            .order_by(Integration.created_at.desc(), Integration.id)
            .limit(limit)
            .offset(offset)
        )
        return rows.all(), int(total or 0)

    async def add(self, integration: Integration) -> Integration:
        """Stage a new integration."""
        self.session.add(integration)
        await self.session.flush()
        return integration
