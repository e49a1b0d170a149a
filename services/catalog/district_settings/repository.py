"""Queries on district settings; the only place their SQL lives."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.catalog.models import DistrictSetting
from shared.db import insert_ignoring_conflicts, utcnow


class DistrictSettingRepository:
    """A district's settings row."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, *, district_id: str) -> DistrictSetting | None:
        """The district's row, or None when it uses every default."""
        return await self.session.get(DistrictSetting, district_id)

    async def get_or_create(self, *, district_id: str, actor: str) -> DistrictSetting:
        """The district's row, created empty (all defaults) if missing; safe against a concurrent create."""
        table = DistrictSetting.__table__
        await self.session.execute(
            insert_ignoring_conflicts(
                self.session,
                table,  # type: ignore[arg-type]
                [{"district_id": district_id, "updated_by": actor, "updated_at": utcnow()}],
                index_elements=["district_id"],
            )
        )
        row = (
            await self.session.execute(
                select(DistrictSetting).where(DistrictSetting.district_id == district_id).with_for_update()
            )
        ).scalar_one()
        return row
