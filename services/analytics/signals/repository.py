"""Queries on emitted signals."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select, union, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.analytics.models import License, SignalEmission, ToolInfo, UsagePending
from shared.db import insert_ignoring_conflicts, utcnow


class SignalRepository:
    """Signal emissions of one session."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def claim(
        self,
        *,
        district_id: str,
        tool_id: str,
        signal: str,
        window_start: dt.date,
        window_end: dt.date,
        value: float,
    ) -> bool:
        """Reserve (tool, signal, window); False when it was already published."""
        result: Any = await self.session.execute(
            insert_ignoring_conflicts(
                self.session,
                SignalEmission.__table__,  # type: ignore[arg-type]
                [
                    {
                        "district_id": district_id,
                        "tool_id": tool_id,
                        "signal": signal,
                        "window_start": window_start,
                        "window_end": window_end,
                        "value": value,
                        "event_id": "",
                        "emitted_at": utcnow(),
                    }
                ],
                index_elements=["district_id", "tool_id", "signal", "window_start"],
            )
        )
        return bool(result.rowcount)

    async def set_event_id(
        self, *, district_id: str, tool_id: str, signal: str, window_start: dt.date, event_id: str
    ) -> None:
        """Remember which outbox event carried the signal."""
        await self.session.execute(
            update(SignalEmission)
            .where(
                SignalEmission.district_id == district_id,
                SignalEmission.tool_id == tool_id,
                SignalEmission.signal == signal,
                SignalEmission.window_start == window_start,
            )
            .values(event_id=event_id)
        )

    async def list(
        self, *, district_id: str, limit: int, offset: int
    ) -> tuple[Sequence[SignalEmission], int]:
        """A page of the district's emitted signals, newest first."""
        where = SignalEmission.district_id == district_id
        total = await self.session.scalar(select(func.count()).select_from(SignalEmission).where(where))
        rows = await self.session.scalars(
            select(SignalEmission)
            .where(where)
            .order_by(SignalEmission.emitted_at.desc(), SignalEmission.tool_id)
            .limit(limit)
            .offset(offset)
        )
        return rows.all(), int(total or 0)

    async def tool_states(self, district_id: str) -> dict[str, tuple[str, dt.date | None]]:
        """Tool id -> (status, adoption day) of the district's tools, from catalog events."""
        rows = await self.session.execute(
            select(ToolInfo.tool_id, ToolInfo.status, ToolInfo.adopted_on).where(
                ToolInfo.district_id == district_id
            )
        )
        return {tool: (status, adopted_on) for tool, status, adopted_on in rows.all()}

    async def queued_through(self, district_id: str, day: dt.date) -> int:
        """The district's events of `day` or before still waiting to be counted."""
        stmt = select(func.count()).where(UsagePending.district_id == district_id, UsagePending.day <= day)
        return int(await self.session.scalar(stmt) or 0)

    async def districts(self) -> Sequence[str]:
        """Districts that have licenses or catalog tools (those worth evaluating)."""
        stmt = union(select(License.district_id), select(ToolInfo.district_id))
        return sorted(r[0] for r in (await self.session.execute(stmt)).all())
