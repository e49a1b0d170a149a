"""Dashboard queries: they read the aggregates (usage_count, usage_presence), the per-user rollups
(usage_daily, error_daily) and the roster.

Whole weeks and months of district-wide figures read the group counters (`counts`, a few hundred
rows); distinct active users over any range read the presence masks (`active_counts`). The per-user
queries (`logins`, `kind_totals`, `features`) answer the partial weeks at a range's edges and a
teacher's own classes, from the per-user daily rollup.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, distinct, func, or_, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from services.analytics.models import (
    ErrorDaily,
    RosterEnrollment,
    RosterUser,
    RosterUserAttribute,
    ToolInfo,
    UsageCount,
    UsageDaily,
    UsagePresence,
)
from shared.db import on_postgresql

UNASSIGNED = "unassigned"
"""Group of users the roster does not describe (no grade, no subject, not rostered)."""


@dataclass(frozen=True, slots=True)
class Scope:
    """What a dashboard covers: district, inclusive dates, optional tool and school, teacher's classes."""

    district_id: str
    start: dt.date
    end: dt.date
    tool_id: str | None = None
    school_id: str | None = None
    teacher_id: str | None = None


@dataclass(frozen=True, slots=True)
class Source:
    """A rollup to read: its model, the column its dates filter on, and the column to group periods by."""

    model: Any
    date: Any
    period: Any


def source(period: str | None = None) -> Source:
    """The per-user rollup (daily), grouped by `period` (week/month) if asked."""
    group = UsageDaily.month if period == "month" else UsageDaily.week
    return Source(UsageDaily, UsageDaily.day, group)


class DashboardRepository:
    """Read-only queries for dashboards and signals."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def tune(self) -> None:
        """Give this transaction's aggregations memory enough to hash instead of spilling (PostgreSQL)."""
        if on_postgresql(self.session):
            await self.session.execute(text("SET LOCAL work_mem = '64MB'"))

    def _where(self, s: Scope, src: Source, *, dated: bool = True) -> list[ColumnElement[bool]]:
        m = src.model
        where: list[ColumnElement[bool]] = [m.district_id == s.district_id, src.date <= s.end]
        if dated:
            where.append(src.date >= s.start)
        if s.tool_id:
            where.append(m.tool_id == s.tool_id)
        if s.school_id:
            where.append(
                m.user_id.in_(
                    select(RosterUserAttribute.user_id).where(
                        RosterUserAttribute.district_id == s.district_id,
                        RosterUserAttribute.kind == "school",
                        RosterUserAttribute.value == s.school_id,
                    )
                )
            )
        if s.teacher_id:
            mine, members = aliased(RosterEnrollment), aliased(RosterEnrollment)
            classes = select(mine.class_id).where(
                mine.district_id == s.district_id, mine.user_id == s.teacher_id, mine.role == "teacher"
            )
            students = select(members.user_id).where(
                members.district_id == s.district_id, members.class_id.in_(classes)
            )
            where.append(or_(m.user_id.in_(students), m.user_id == s.teacher_id))
        return where

    @staticmethod
    def _attribute(src: Source, kind: str) -> tuple[Any, Any]:
        attr = aliased(RosterUserAttribute)
        m = src.model
        on = and_(attr.district_id == m.district_id, attr.user_id == m.user_id, attr.kind == kind)
        return attr, on

    async def logins(self, s: Scope, *, period: str, group: str) -> Sequence[Any]:
        """(period_start, group, logins, active_users) per week or month and grade or subject."""
        src = source(period)
        m = src.model
        per_user = (  # one row per user and period first: the join and counts hash fewer rows
            select(src.period.label("period"), m.district_id, m.user_id, func.sum(m.events).label("events"))
            .where(*self._where(s, src), m.kind == "login")
            .group_by(src.period, m.district_id, m.user_id)
            .subquery()
        )
        attr = aliased(RosterUserAttribute)
        on = and_(
            attr.district_id == per_user.c.district_id, attr.user_id == per_user.c.user_id, attr.kind == group
        )
        label = func.coalesce(attr.value, UNASSIGNED)
        stmt = (
            select(per_user.c.period, label, func.sum(per_user.c.events), func.count())
            .select_from(per_user)
            .outerjoin(attr, on)
            .group_by(per_user.c.period, label)
            .order_by(per_user.c.period, label)
        )
        return (await self.session.execute(stmt)).all()

    async def kind_totals(self, s: Scope, kinds: Sequence[str], *, by_subject: bool) -> Sequence[Any]:
        """(subject or None, kind, events) for the given kinds."""
        src = source()
        m = src.model
        if not by_subject:
            stmt = (
                select(m.kind, func.sum(m.events))
                .where(*self._where(s, src), m.kind.in_(kinds))
                .group_by(m.kind)
            )
            return [(None, kind, n) for kind, n in (await self.session.execute(stmt)).all()]
        attr, on = self._attribute(src, "subject")
        label = func.coalesce(attr.value, UNASSIGNED)
        stmt = (
            select(label, m.kind, func.sum(m.events))
            .select_from(m)
            .outerjoin(attr, on)
            .where(*self._where(s, src), m.kind.in_(kinds))
            .group_by(label, m.kind)
        )
        return (await self.session.execute(stmt)).all()

    async def features(self, s: Scope) -> Sequence[Any]:
        """(feature, week, events, distinct users) of feature use."""
        src = source("week")
        m = src.model
        per_user = (  # one row per user first: counting rows hashes instead of sorting
            select(m.feature, src.period.label("week"), m.user_id, func.sum(m.events).label("events"))
            .where(*self._where(s, src), m.kind == "feature_used")
            .group_by(m.feature, src.period, m.user_id)
            .subquery()
        )
        stmt = (
            select(per_user.c.feature, per_user.c.week, func.sum(per_user.c.events), func.count())
            .group_by(per_user.c.feature, per_user.c.week)
            .order_by(per_user.c.feature, per_user.c.week)
        )
        return (await self.session.execute(stmt)).all()

    async def active_users(
        self, s: Scope, *, teachers_only: bool = False, dated: bool = True
    ) -> dict[str, set[str]]:
        """Users (or rostered teachers) with any usage, by tool (`dated=False`: ever, up to the end)."""
        src = source()
        m = src.model
        stmt = (
            select(m.tool_id, m.user_id).distinct().where(*self._where(s, src, dated=dated), m.tool_id != "")
        )
        if teachers_only:
            stmt = stmt.where(
                m.user_id.in_(
                    select(RosterUser.sourced_id).where(
                        RosterUser.district_id == s.district_id, RosterUser.role == "teacher"
                    )
                )
            )
        out: dict[str, set[str]] = {}
        for tool_id, user_id in (await self.session.execute(stmt)).all():
            out.setdefault(tool_id, set()).add(user_id)
        return out

    async def counts(
        self, s: Scope, *, period: str, first: dt.date, last: dt.date, dim: str, kinds: Sequence[str]
    ) -> Sequence[Any]:
        """(period_start, value, kind, events, users) counters of whole periods starting in [first, last]."""
        c = UsageCount
        stmt = (
            select(c.period_start, c.value, c.kind, c.events, c.users)
            .where(*_whole_periods(s, period=period, first=first, last=last, dim=dim, kinds=kinds))
            .order_by(c.period_start, c.value, c.kind)
        )
        return (await self.session.execute(stmt)).all()

    async def count_totals(
        self, s: Scope, *, period: str, first: dt.date, last: dt.date, dim: str, kinds: Sequence[str]
    ) -> Sequence[Any]:
        """(value, kind, events) summed over the whole weeks or months starting in [first, last]."""
        c = UsageCount
        stmt = (
            select(c.value, c.kind, func.sum(c.events))
            .where(*_whole_periods(s, period=period, first=first, last=last, dim=dim, kinds=kinds))
            .group_by(c.value, c.kind)
        )
        return (await self.session.execute(stmt)).all()

    async def active_counts(
        self, s: Scope, *, teachers_only: bool = False, dated: bool = True
    ) -> dict[str, int]:
        """Distinct users (or rostered teachers) with any usage per tool, from the presence masks.

        `dated=False`: ever, up to the end. Exact for any range: whole months match any mask, the
        first and last month match the bits of their days in range.
        """
        p = UsagePresence
        start = s.start if dated else dt.date(1970, 1, 1)
        first, last = start.replace(day=1), s.end.replace(day=1)

        def bits(month: dt.date) -> int:
            lo = start.day if month == first else 1
            hi = s.end.day if month == last else 31
            return ((1 << hi) - 1) ^ ((1 << (lo - 1)) - 1)

        if first == last:
            dates: ColumnElement[bool] = and_(p.month == first, p.days.op("&")(bits(first)) != 0)
        else:
            dates = or_(
                and_(p.month == first, p.days.op("&")(bits(first)) != 0),
                and_(p.month > first, p.month < last),
                and_(p.month == last, p.days.op("&")(bits(last)) != 0),
            )
        stmt = (
            select(p.tool_id, p.user_id)
            .distinct()
            .where(p.district_id == s.district_id, p.tool_id != "", dates)
        )
        if s.tool_id:
            stmt = stmt.where(p.tool_id == s.tool_id)
        if teachers_only:
            stmt = stmt.where(
                p.user_id.in_(
                    select(RosterUser.sourced_id).where(
                        RosterUser.district_id == s.district_id, RosterUser.role == "teacher"
                    )
                )
            )
        if s.school_id:
            stmt = stmt.where(p.user_id.in_(self._school_users(s)))
        pairs = stmt.subquery()  # DISTINCT then count: hashes instead of sorting (count(DISTINCT) sorts)
        counted = select(pairs.c.tool_id, func.count()).group_by(pairs.c.tool_id)
        return {t: int(n) for t, n in (await self.session.execute(counted)).all()}

    @staticmethod
    def _school_users(s: Scope) -> Any:
        return select(RosterUserAttribute.user_id).where(
            RosterUserAttribute.district_id == s.district_id,
            RosterUserAttribute.kind == "school",
            RosterUserAttribute.value == s.school_id,
        )

    async def teacher_count(self, district_id: str, school_id: str | None) -> int:
        """Enabled rostered teachers of the district (or one school)."""
        stmt = (
            select(func.count())
            .select_from(RosterUser)
            .where(
                RosterUser.district_id == district_id,
                RosterUser.role == "teacher",
                RosterUser.enabled.is_(True),
            )
        )
        if school_id:
            stmt = stmt.where(
                RosterUser.sourced_id.in_(
                    select(RosterUserAttribute.user_id).where(
                        RosterUserAttribute.district_id == district_id,
                        RosterUserAttribute.kind == "school",
                        RosterUserAttribute.value == school_id,
                    )
                )
            )
        return int(await self.session.scalar(stmt) or 0)

    async def tools(self, district_id: str) -> dict[str, tuple[str, str]]:
        """Tool id -> (name, status) from catalog events."""
        rows = await self.session.execute(
            select(ToolInfo.tool_id, ToolInfo.name, ToolInfo.status).where(
                ToolInfo.district_id == district_id
            )
        )
        return {t: (n, st) for t, n, st in rows.all()}

    async def errors(self, s: Scope) -> Sequence[Any]:
        """(tool_id, week, severity, errors) from error-logged events."""
        stmt = (
            select(ErrorDaily.tool_id, ErrorDaily.week, ErrorDaily.severity, func.sum(ErrorDaily.errors))
            .where(
                ErrorDaily.district_id == s.district_id, ErrorDaily.day >= s.start, ErrorDaily.day <= s.end
            )
            .group_by(ErrorDaily.tool_id, ErrorDaily.week, ErrorDaily.severity)
            .order_by(ErrorDaily.tool_id, ErrorDaily.week, ErrorDaily.severity)
        )
        if s.tool_id:
            stmt = stmt.where(ErrorDaily.tool_id == s.tool_id)
        return (await self.session.execute(stmt)).all()

    async def user_usage(self, s: Scope, user_ids: Sequence[str]) -> Sequence[Any]:
        """(user_id, kind, events, seconds) of some users, from the daily rollup."""
        src = Source(UsageDaily, UsageDaily.day, UsageDaily.week)
        stmt = (
            select(
                UsageDaily.user_id,
                UsageDaily.kind,
                func.sum(UsageDaily.events),
                func.sum(UsageDaily.duration_s),
            )
            .where(*self._where(s, src), UsageDaily.user_id.in_(list(user_ids)))
            .group_by(UsageDaily.user_id, UsageDaily.kind)
        )
        return (await self.session.execute(stmt)).all()

    async def active_days(self, s: Scope, user_ids: Sequence[str]) -> dict[str, int]:
        """Distinct days with any usage, per user."""
        src = Source(UsageDaily, UsageDaily.day, UsageDaily.week)
        stmt = (
            select(UsageDaily.user_id, func.count(distinct(UsageDaily.day)))
            .where(*self._where(s, src), UsageDaily.user_id.in_(list(user_ids)))
            .group_by(UsageDaily.user_id)
        )
        return {u: int(n) for u, n in (await self.session.execute(stmt)).all()}


def _whole_periods(
    s: Scope, *, period: str, first: dt.date, last: dt.date, dim: str, kinds: Sequence[str]
) -> list[Any]:
    """Conditions selecting the scope's group counters of whole periods starting in [first, last]."""
    c = UsageCount
    return [
        c.district_id == s.district_id,
        c.period == period,
        c.tool_id == (s.tool_id or ""),
        c.school_id == (s.school_id or ""),
        c.dim == dim,
        c.kind.in_(list(kinds)),
        c.period_start >= first,
        c.period_start <= last,
    ]
