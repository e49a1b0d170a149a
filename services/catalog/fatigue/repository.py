"""Queries on rollouts; the only place their SQL lives."""

from __future__ import annotations

import uuid
import zlib
from collections.abc import Sequence

from sqlalchemy import func, select, union
from sqlalchemy.ext.asyncio import AsyncSession

from services.catalog.models import Rollout, SchoolPilot


class RolloutRepository:
    """Rollouts of one session, always scoped to a district."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(
        self, *, district_id: str, rollout_id: uuid.UUID, for_update: bool = False
    ) -> Rollout | None:
        """A district's rollout, or None."""
        stmt = select(Rollout).where(Rollout.id == rollout_id, Rollout.district_id == district_id)
        if for_update:
            stmt = stmt.with_for_update()
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def lock_scope(self, *, district_id: str, scope: str, scope_id: str, semester: str) -> None:
        """Serialize approvals in one scope and semester until the transaction ends.

        PostgreSQL: a transaction-level advisory lock; SQLite already serializes writers.
        """
        if self.session.bind is None or self.session.bind.dialect.name != "postgresql":
            return
        key = zlib.crc32(f"rollout:{district_id}:{scope}:{scope_id}:{semester}".encode())
        await self.session.execute(select(func.pg_advisory_xact_lock(key)))

    async def find(
        self, *, district_id: str, tool_id: uuid.UUID, scope: str, scope_id: str, semester: str
    ) -> Rollout | None:
        """The same rollout if already planned."""
        return (
            await self.session.execute(
                select(Rollout).where(
                    Rollout.district_id == district_id,
                    Rollout.tool_id == tool_id,
                    Rollout.scope == scope,
                    Rollout.scope_id == scope_id,
                    Rollout.semester == semester,
                )
            )
        ).scalar_one_or_none()

    async def approved_tools_in_scope(
        self,
        *,
        district_id: str,
        scope: str,
        scope_id: str,
        semester: str,
        excluding_tool: uuid.UUID | None = None,
    ) -> int:
        """How many distinct tools are new to one school or grade team in one semester: approved rollouts,
        and for a school, the tools piloted there that semester."""
        where = [
            Rollout.district_id == district_id,
            Rollout.scope == scope,
            Rollout.scope_id == scope_id,
            Rollout.semester == semester,
            Rollout.status == "approved",
        ]
        if excluding_tool is not None:
            where.append(Rollout.tool_id != excluding_tool)
        tools = select(Rollout.tool_id).where(*where)
        if scope == "school":
            piloted = [
                SchoolPilot.district_id == district_id,
                SchoolPilot.school_id == scope_id,
                SchoolPilot.semester == semester,
            ]
            if excluding_tool is not None:
                piloted.append(SchoolPilot.tool_id != excluding_tool)
            tools = union(tools, select(SchoolPilot.tool_id).where(*piloted))  # type: ignore[assignment]
        return int(await self.session.scalar(select(func.count()).select_from(tools.subquery())) or 0)

    async def add_school_pilot(self, pilot: SchoolPilot) -> bool:
        """Count a pilot in its school (once per pilot); False when it was already counted."""
        found = await self.session.scalar(
            select(SchoolPilot.id).where(
                SchoolPilot.district_id == pilot.district_id, SchoolPilot.pilot_id == pilot.pilot_id
            )
        )
        if found is not None:
            return False
        self.session.add(pilot)
        await self.session.flush()
        return True

    async def list(
        self,
        *,
        district_id: str,
        scope: str | None,
        scope_id: str | None,
        semester: str | None,
        tool_id: uuid.UUID | None,
        limit: int,
        offset: int,
    ) -> tuple[Sequence[Rollout], int]:
        """A page of a district's rollouts, newest first."""
        where = [Rollout.district_id == district_id]
        for column, value in (
            (Rollout.scope, scope),
            (Rollout.scope_id, scope_id),
            (Rollout.semester, semester),
            (Rollout.tool_id, tool_id),
        ):
            if value is not None:
                where.append(column == value)
        total = await self.session.scalar(select(func.count()).select_from(Rollout).where(*where))
        rows = await self.session.scalars(
            select(Rollout)
            .where(*where)
            .order_by(Rollout.created_at.desc(), Rollout.id)
            .limit(limit)
            .offset(offset)
        )
        return rows.all(), int(total or 0)

    async def add(self, rollout: Rollout) -> Rollout:
        """Stage a new rollout."""
        self.session.add(rollout)
        await self.session.flush()
        return rollout
