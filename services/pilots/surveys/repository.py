"""Queries on instruments and survey responses; the only place their SQL lives."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import CursorResult, Table, delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.pilots.models import Instrument, InstrumentItem, SurveyResponse
from shared.db import insert_ignoring_conflicts


class SurveyRepository:
    """Instruments and responses of one district."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def insert_instrument_if_absent(self, values: dict[str, Any]) -> bool:
        """Insert an instrument unless the district already has its code; True if inserted."""
        table = cast(Table, Instrument.__table__)
        statement = insert_ignoring_conflicts(
            self.session, table, [values], index_elements=["district_id", "code"]
        )
        result = cast(CursorResult[Any], await self.session.execute(statement))
        return bool(result.rowcount)

    async def delete_items(self, *, instrument_id: uuid.UUID) -> None:
        """Remove an instrument's items (before replacing them)."""
        await self.session.execute(
            delete(InstrumentItem).where(InstrumentItem.instrument_id == instrument_id)
        )

    async def has_responses(self, *, instrument_id: uuid.UUID) -> bool:
        """Whether anyone answered the instrument yet."""
        return bool(
            await self.session.scalar(
                select(func.count())
                .select_from(SurveyResponse)
                .where(SurveyResponse.instrument_id == instrument_id)
            )
        )

    async def add_items(self, items: Sequence[InstrumentItem]) -> None:
        """Stage an instrument's items."""
        self.session.add_all(items)
        await self.session.flush()

    async def has_instruments(self, *, district_id: str) -> bool:
        """Whether the district has any instrument yet."""
        return bool(
            await self.session.scalar(
                select(func.count()).select_from(Instrument).where(Instrument.district_id == district_id)
            )
        )

    async def instrument(self, *, district_id: str, code: str) -> Instrument | None:
        """A district's instrument by code, or None."""
        return (
            await self.session.execute(
                select(Instrument).where(Instrument.district_id == district_id, Instrument.code == code)
            )
        ).scalar_one_or_none()

    async def instruments(
        self, *, district_id: str, limit: int, offset: int
    ) -> tuple[Sequence[Instrument], int]:
        """A page of a district's instruments by code, and the total."""
        where = Instrument.district_id == district_id
        total = await self.session.scalar(select(func.count()).select_from(Instrument).where(where))
        rows = await self.session.scalars(
            select(Instrument).where(where).order_by(Instrument.code).limit(limit).offset(offset)
        )
        return rows.all(), int(total or 0)

    async def items(self, *, instrument_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[InstrumentItem]]:
        """Each instrument's items in order."""
        rows = await self.session.scalars(
            select(InstrumentItem)
            .where(InstrumentItem.instrument_id.in_(instrument_ids))
            .order_by(InstrumentItem.position)
        )
        out: dict[uuid.UUID, list[InstrumentItem]] = defaultdict(list)
        for item in rows:
            out[item.instrument_id].append(item)
        return out

    async def response(
        self, *, pilot_id: uuid.UUID, instrument_id: uuid.UUID, teacher_id: str, phase: str
    ) -> SurveyResponse | None:
        """A teacher's response to an instrument in a phase, or None."""
        return (
            await self.session.execute(
                select(SurveyResponse).where(
                    SurveyResponse.pilot_id == pilot_id,
                    SurveyResponse.instrument_id == instrument_id,
                    SurveyResponse.teacher_id == teacher_id,
                    SurveyResponse.phase == phase,
                )
            )
        ).scalar_one_or_none()

    async def add_response(self, response: SurveyResponse) -> SurveyResponse:
        """Stage a response."""
        self.session.add(response)
        await self.session.flush()
        return response

    async def responses(
        self,
        *,
        district_id: str,
        pilot_id: uuid.UUID,
        instrument_id: uuid.UUID | None = None,
        teacher_id: str | None = None,
        phase: str | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> tuple[Sequence[SurveyResponse], int]:
        """A pilot's responses by submission time (all without `limit`), and the total."""
        where = [SurveyResponse.district_id == district_id, SurveyResponse.pilot_id == pilot_id]
        if instrument_id:
            where.append(SurveyResponse.instrument_id == instrument_id)
        if teacher_id:
            where.append(SurveyResponse.teacher_id == teacher_id)
        if phase:
            where.append(SurveyResponse.phase == phase)
        total = await self.session.scalar(select(func.count()).select_from(SurveyResponse).where(*where))
        stmt = select(SurveyResponse).where(*where).order_by(SurveyResponse.submitted_at, SurveyResponse.id)
        if limit is not None:
            stmt = stmt.limit(limit).offset(offset)
        return (await self.session.scalars(stmt)).all(), int(total or 0)

    async def instrument_codes(self, *, instrument_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, str]:
        """Instrument id -> code."""
        rows = await self.session.execute(
            select(Instrument.id, Instrument.code).where(Instrument.id.in_(instrument_ids))
        )
        return {i: c for i, c in rows.all()}
