"""Queries on tools; the only place their SQL lives."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, exists, func, literal, or_, select, type_coerce
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession

from services.catalog.models import Tool, ToolTransition
from services.catalog.tools.schemas import ToolFilters


def _like_pattern(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


class ToolRepository:
    """Tools of one session, always scoped to a district."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    @property
    def _dialect(self) -> str:
        return self.session.bind.dialect.name if self.session.bind is not None else "postgresql"

    def _json_list_contains(self, column: Any, value: str) -> ColumnElement[bool]:
        """`value` is an element of a JSON list column (JSONB @> on PostgreSQL, json_each on SQLite)."""
        if self._dialect == "postgresql":
            return type_coerce(column, JSONB).contains([value])
        each = func.json_each(column).table_valued("value")
        return exists(select(literal(1)).select_from(each).where(each.c.value == value))

    async def get(self, *, district_id: str, tool_id: uuid.UUID, for_update: bool = False) -> Tool | None:
        """A district's tool by id, or None (also for another district's id)."""
        stmt = select(Tool).where(Tool.id == tool_id, Tool.district_id == district_id)
        if for_update:
            stmt = stmt.with_for_update()
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def get_many(self, *, district_id: str, tool_ids: Sequence[uuid.UUID]) -> Sequence[Tool]:
        """A district's tools among `tool_ids` (others are silently absent)."""
        if not tool_ids:
            return []
        rows = await self.session.scalars(
            select(Tool).where(Tool.district_id == district_id, Tool.id.in_(list(tool_ids)))
        )
        return rows.all()

    async def list(
        self, *, district_id: str, filters: ToolFilters, limit: int, offset: int
    ) -> tuple[Sequence[Tool], int]:
        """A page of a district's tools matching `filters`, newest first, and the total matching."""
        where: list[ColumnElement[bool]] = [Tool.district_id == district_id]
        f = filters
        if f.status:
            where.append(Tool.status == f.status)
        if f.category:
            where.append(func.lower(Tool.category) == f.category.lower())
        if f.subject:
            where.append(self._json_list_contains(Tool.subjects, f.subject))
        if f.grade_band:
            where.append(self._json_list_contains(Tool.grade_bands, f.grade_band))
        if f.vendor:
            where.append(func.lower(Tool.vendor) == f.vendor.lower())
        if f.vendor_id:
            where.append(Tool.vendor_id == f.vendor_id)
        if f.usage:
            where.append(Tool.usage == f.usage)
        if f.checklist_state:
            where.append(Tool.checklist_state == f.checklist_state)
        if f.smartphone_support is not None:
            where.append(Tool.smartphone_support.is_(f.smartphone_support))
        if f.q:
            pattern = _like_pattern(f.q.strip())
            where.append(
                or_(
                    Tool.name.ilike(pattern, escape="\\"),
                    Tool.description.ilike(pattern, escape="\\"),
                    Tool.vendor.ilike(pattern, escape="\\"),
                    Tool.category.ilike(pattern, escape="\\"),
                )
            )
        total = await self.session.scalar(select(func.count()).select_from(Tool).where(*where))
        rows = await self.session.scalars(
            select(Tool).where(*where).order_by(Tool.created_at.desc(), Tool.id).limit(limit).offset(offset)
        )
        return rows.all(), int(total or 0)

    async def ids_in_district(self, *, district_id: str) -> Sequence[uuid.UUID]:
        """Every tool id of a district."""
        return (await self.session.scalars(select(Tool.id).where(Tool.district_id == district_id))).all()

    async def add(self, tool: Tool) -> Tool:
        """Stage a new tool."""
        self.session.add(tool)
        await self.session.flush()
        return tool

    async def add_transition(self, transition: ToolTransition) -> None:
        """Stage a lifecycle move."""
        self.session.add(transition)
        await self.session.flush()

    async def transitions(self, *, tool_id: uuid.UUID) -> Sequence[ToolTransition]:
        """A tool's lifecycle history, oldest first."""
        rows = await self.session.scalars(
            select(ToolTransition).where(ToolTransition.tool_id == tool_id).order_by(ToolTransition.at)
        )
        return rows.all()
