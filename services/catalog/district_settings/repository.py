"""Queries on district settings; the only place their SQL lives."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from services.catalog.models import DistrictSetting


class DistrictSettingRepository:
    """A district's settings row."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, *, district_id: str) -> DistrictSetting | None:
        """The district's row, or None when it uses every default."""
        return await self.session.get(DistrictSetting, district_id)

    async def add(self, row: DistrictSetting) -> DistrictSetting:
        """Stage a new row."""
        self.session.add(row)
        await self.session.flush()
        return row
