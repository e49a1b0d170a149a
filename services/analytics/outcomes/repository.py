"""Queries of outcome evidence: results in, and the student table an analysis needs out.

Every query names its district: students of another district never enter an analysis.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from services.analytics.models import (
    PilotCohort,
    RosterClass,
    RosterEnrollment,
    RosterUser,
    RosterUserAttribute,
    UsageDaily,
)
from services.analytics.outcomes.models import AchievementResult, OutcomeAnalysis
from shared.db import on_postgresql

_CHUNK = 500


class OutcomeRepository:
    """Outcome queries of one session."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def store_results(self, rows: Sequence[dict[str, Any]]) -> None:
        """Upsert results by (district, student, assessment, day)."""
        table: Any = AchievementResult.__table__
        insert = postgresql.insert if on_postgresql(self.session) else sqlite.insert
        for start in range(0, len(rows), _CHUNK):
            stmt = insert(table).values(list(rows[start : start + _CHUNK]))
            await self.session.execute(
                stmt.on_conflict_do_update(
                    index_elements=["district_id", "student_id", "assessment", "administered_on"],
                    set_={
                        c: stmt.excluded[c]
                        for c in ("subject", "score", "scale", "prior_score", "source", "uploaded_at")
                    },
                )
            )

    async def results(self, *, district_id: str, assessment: str) -> Sequence[Any]:
        """(student, day, score, prior_score, subject) of one assessment, oldest first."""
        r = AchievementResult
        rows = await self.session.execute(
            select(r.student_id, r.administered_on, r.score, r.prior_score, r.subject)
            .where(r.district_id == district_id, r.assessment == assessment)
            .order_by(r.student_id, r.administered_on)
        )
        return rows.all()

    async def students(self, district_id: str) -> Sequence[Any]:
        """(student, school) of the district's rostered students."""
        u = RosterUser
        rows = await self.session.execute(
            select(u.sourced_id, u.school_id).where(u.district_id == district_id, u.role == "student")
        )
        return rows.all()

    async def grades(self, district_id: str) -> dict[str, str]:
        """Each student's grade level (the lowest when several)."""
        a = RosterUserAttribute
        rows = await self.session.execute(
            select(a.user_id, func.min(a.value))
            .where(a.district_id == district_id, a.kind == "grade")
            .group_by(a.user_id)
        )
        return {user: grade for user, grade in rows.all()}

    async def enrollments(self, district_id: str) -> Sequence[Any]:
        """(student, class, subjects) of every student enrollment."""
        e, c = RosterEnrollment, RosterClass
        rows = await self.session.execute(
            select(e.user_id, e.class_id, c.subjects)
            .join(c, (c.district_id == e.district_id) & (c.sourced_id == e.class_id))
            .where(e.district_id == district_id, e.role == "student")
            .order_by(e.user_id, e.class_id)
        )
        return rows.all()

    async def dosage(
        self, *, district_id: str, tool_id: str, start: dt.date, end: dt.date, measure: str
    ) -> dict[str, float]:
        """Each user's use of the tool in [start, end], from the daily rollup, by `measure`."""
        d = UsageDaily
        value: Any
        where = [d.district_id == district_id, d.tool_id == tool_id, d.day >= start, d.day <= end]
        if measure == "active_days":
            value = func.count(func.distinct(d.day))
        elif measure == "minutes":
            value = func.sum(d.duration_s) / 60.0
        else:
            value = func.sum(d.events)
            where.append(d.kind == "login")
        rows = await self.session.execute(select(d.user_id, value).where(*where).group_by(d.user_id))
        return {user: float(v or 0) for user, v in rows.all()}

    async def cohort(self, *, district_id: str, pilot_id: uuid.UUID) -> PilotCohort | None:
        """A pilot's cohort as the pilots service announced it."""
        return await self.session.get(PilotCohort, (district_id, pilot_id))

    async def add(self, analysis: OutcomeAnalysis) -> OutcomeAnalysis:
        """Stage an analysis."""
        self.session.add(analysis)
        await self.session.flush()
        return analysis

    async def get(self, *, district_id: str, analysis_id: uuid.UUID) -> OutcomeAnalysis | None:
        """A district's analysis, or None."""
        found = await self.session.get(OutcomeAnalysis, analysis_id)
        return found if found is not None and found.district_id == district_id else None

    async def of_pilot(self, district_id: str, pilot_id: uuid.UUID) -> Sequence[OutcomeAnalysis]:
        """A pilot's analyses, newest first."""
        rows = await self.session.scalars(
            select(OutcomeAnalysis)
            .where(OutcomeAnalysis.district_id == district_id, OutcomeAnalysis.pilot_id == pilot_id)
            .order_by(OutcomeAnalysis.created_at.desc(), OutcomeAnalysis.id)
        )
        return rows.all()

    async def list(
        self, *, district_id: str, tool_id: str | None, limit: int, offset: int
    ) -> tuple[Sequence[OutcomeAnalysis], int]:
        """A page of a district's analyses, newest first."""
        where = [OutcomeAnalysis.district_id == district_id]
        if tool_id is not None:
            where.append(OutcomeAnalysis.tool_id == tool_id)
        total = await self.session.scalar(select(func.count()).select_from(OutcomeAnalysis).where(*where))
        rows = await self.session.scalars(
            select(OutcomeAnalysis)
            .where(*where)
            .order_by(OutcomeAnalysis.created_at.desc(), OutcomeAnalysis.id)
            .limit(limit)
            .offset(offset)
        )
        return rows.all(), int(total or 0)
