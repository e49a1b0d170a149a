"""Dashboard queries: all read the rollups (usage_daily, error_daily) joined with the roster."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, distinct, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from services.analytics.models import (
    ErrorDaily,
    RosterEnrollment,
    RosterUser,
    RosterUserAttribute,
    ToolInfo,
    UsageDaily,
)

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


class DashboardRepository:
    """Read-only queries for dashboards and signals."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def _where(self, s: Scope, *, dated: bool = True) -> list[ColumnElement[bool]]:
        where: list[ColumnElement[bool]] = [UsageDaily.district_id == s.district_id, UsageDaily.day <= s.end]
        if dated:
            where.append(UsageDaily.day >= s.start)
        if s.tool_id:
            where.append(UsageDaily.tool_id == s.tool_id)
        if s.school_id:
            where.append(
                UsageDaily.user_id.in_(
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
            where.append(or_(UsageDaily.user_id.in_(students), UsageDaily.user_id == s.teacher_id))
        return where

    @staticmethod
    def _attribute(kind: str) -> tuple[Any, Any]:
        attr = aliased(RosterUserAttribute)
        on = and_(
            attr.district_id == UsageDaily.district_id, attr.user_id == UsageDaily.user_id, attr.kind == kind
        )
        return attr, on

    async def logins(self, s: Scope, *, period: str, group: str) -> Sequence[Any]:
        """(period_start, group, logins, active_users) per week or month and grade or subject."""
        attr, on = self._attribute(group)
        period_col = UsageDaily.week if period == "week" else UsageDaily.month
        label = func.coalesce(attr.value, UNASSIGNED)
        stmt = (
            select(period_col, label, func.sum(UsageDaily.events), func.count(distinct(UsageDaily.user_id)))
            .select_from(UsageDaily)
            .outerjoin(attr, on)
            .where(*self._where(s), UsageDaily.kind == "login")
            .group_by(period_col, label)
            .order_by(period_col, label)
        )
        return (await self.session.execute(stmt)).all()

    async def kind_totals(self, s: Scope, kinds: Sequence[str], *, by_subject: bool) -> Sequence[Any]:
        """(subject or None, kind, events) for the given kinds."""
        if not by_subject:
            stmt = (
                select(UsageDaily.kind, func.sum(UsageDaily.events))
                .where(*self._where(s), UsageDaily.kind.in_(kinds))
                .group_by(UsageDaily.kind)
            )
            return [(None, kind, n) for kind, n in (await self.session.execute(stmt)).all()]
        attr, on = self._attribute("subject")
        label = func.coalesce(attr.value, UNASSIGNED)
        stmt = (
            select(label, UsageDaily.kind, func.sum(UsageDaily.events))
            .select_from(UsageDaily)
            .outerjoin(attr, on)
            .where(*self._where(s), UsageDaily.kind.in_(kinds))
            .group_by(label, UsageDaily.kind)
        )
        return (await self.session.execute(stmt)).all()

    async def features(self, s: Scope) -> Sequence[Any]:
        """(feature, week, events, distinct users) of feature use."""
        stmt = (
            select(
                UsageDaily.feature,
                UsageDaily.week,
                func.sum(UsageDaily.events),
                func.count(distinct(UsageDaily.user_id)),
            )
            .where(*self._where(s), UsageDaily.kind == "feature_used")
            .group_by(UsageDaily.feature, UsageDaily.week)
            .order_by(UsageDaily.feature, UsageDaily.week)
        )
        return (await self.session.execute(stmt)).all()

    async def active_users(
        self, s: Scope, *, teachers_only: bool = False, dated: bool = True
    ) -> dict[str, set[str]]:
        """Users (or rostered teachers) with any usage, by tool."""
        stmt = (
            select(UsageDaily.tool_id, UsageDaily.user_id)
            .distinct()
            .where(*self._where(s, dated=dated), UsageDaily.tool_id != "")
        )
        if teachers_only:
            stmt = stmt.where(
                UsageDaily.user_id.in_(
                    select(RosterUser.sourced_id).where(
                        RosterUser.district_id == s.district_id, RosterUser.role == "teacher"
                    )
                )
            )
        out: dict[str, set[str]] = {}
        for tool_id, user_id in (await self.session.execute(stmt)).all():
            out.setdefault(tool_id, set()).add(user_id)
        return out

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
        """(user_id, kind, events, seconds, active days) of some users."""
        stmt = (
            select(
                UsageDaily.user_id,
                UsageDaily.kind,
                func.sum(UsageDaily.events),
                func.sum(UsageDaily.duration_s),
                func.count(distinct(UsageDaily.day)),
            )
            .where(*self._where(s), UsageDaily.user_id.in_(list(user_ids)))
            .group_by(UsageDaily.user_id, UsageDaily.kind)
        )
        return (await self.session.execute(stmt)).all()

    async def active_days(self, s: Scope, user_ids: Sequence[str]) -> dict[str, int]:
        """Distinct days with any usage, per user."""
        stmt = (
            select(UsageDaily.user_id, func.count(distinct(UsageDaily.day)))
            .where(*self._where(s), UsageDaily.user_id.in_(list(user_ids)))
            .group_by(UsageDaily.user_id)
        )
        return {u: int(n) for u, n in (await self.session.execute(stmt)).all()}
