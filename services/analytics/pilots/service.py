"""Pilot cohorts (from pilot events) and their usage."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from services.analytics.dashboards.repository import DashboardRepository, Scope
from services.analytics.models import PilotCohort
from services.analytics.outcomes.models import OutcomeAnalysis
from services.analytics.outcomes.repository import OutcomeRepository
from services.analytics.pilots.repository import PilotRepository
from services.analytics.pilots.schemas import PilotOutcome, PilotUsageRead, TeacherUsage
from services.analytics.tools.service import tool_of_another_district
from shared.errors import NotFound
from shared.events import PilotCompleted, PilotStarted
from shared.ownership import event_names_foreign_id


async def register_cohort(
    session: AsyncSession, *, district_id: str, payload: PilotStarted, **context: object
) -> None:
    """Remember a pilot's teachers, tool and dates (a repeated pilot-started updates them).

    A pilot or tool the copies hold for another district changes nothing (`shared.ownership`).
    """
    repo = PilotRepository(session)
    cohort = await repo.get(district_id=district_id, pilot_id=payload.pilot_id)
    if cohort is None and event_names_foreign_id(
        await repo.districts_of(pilot_id=payload.pilot_id),
        district_id=district_id,
        field="pilot_id",
        value=payload.pilot_id,
        **context,
    ):
        return
    if await tool_of_another_district(
        session, district_id=district_id, tool_id=str(payload.tool_id), **context
    ):
        return
    values = {
        "tool_id": str(payload.tool_id),
        "teacher_ids": list(payload.teacher_ids),
        "classes": list(payload.classes),
        "school_id": payload.school_id,
        "start_date": payload.start_date,
        "end_date": payload.end_date,
    }
    if cohort is None:
        await repo.add(PilotCohort(district_id=district_id, pilot_id=payload.pilot_id, **values))
    else:
        for field, value in values.items():
            setattr(cohort, field, value)
        await session.flush()


async def record_decision(session: AsyncSession, *, district_id: str, payload: PilotCompleted) -> None:
    """Record a pilot's decision; an extension moves its end date."""
    cohort = await PilotRepository(session).get(district_id=district_id, pilot_id=payload.pilot_id)
    if cohort is None:
        return
    cohort.decision = payload.decision
    if payload.new_end_date:
        cohort.end_date = payload.new_end_date
    await session.flush()


async def pilot_usage(
    session: AsyncSession, *, district_id: str, pilot_id: uuid.UUID, teacher_id: str | None = None
) -> PilotUsageRead:
    """The cohort teachers' usage of the pilot's tool between the pilot's dates (404 if unknown)."""
    cohort = await PilotRepository(session).get(district_id=district_id, pilot_id=pilot_id)
    if cohort is None or (teacher_id is not None and teacher_id not in cohort.teacher_ids):
        raise NotFound(f"pilot {pilot_id} not found")
    scope = Scope(
        district_id=district_id, start=cohort.start_date, end=cohort.end_date, tool_id=cohort.tool_id
    )
    repo = DashboardRepository(session)
    per: dict[str, dict[str, float]] = {t: {} for t in cohort.teacher_ids}
    for user, kind, events, seconds in await repo.user_usage(scope, cohort.teacher_ids):
        stats = per[user]
        stats["events"] = stats.get("events", 0) + int(events)
        stats[kind] = stats.get(kind, 0) + int(events)
        stats["seconds"] = stats.get("seconds", 0) + float(seconds or 0)
    days = await repo.active_days(scope, cohort.teacher_ids)
    teachers = [
        TeacherUsage(
            teacher_id=t,
            events=int(s.get("events", 0)),
            logins=int(s.get("login", 0)),
            submissions=int(s.get("assignment_submitted", 0)),
            feature_uses=int(s.get("feature_used", 0)),
            minutes=round(s.get("seconds", 0) / 60, 2),
            active_days=days.get(t, 0),
        )
        for t, s in per.items()
    ]
    return PilotUsageRead(
        pilot_id=pilot_id,
        tool_id=cohort.tool_id,
        start_date=cohort.start_date,
        end_date=cohort.end_date,
        teachers=teachers,
        active_teachers=sum(1 for t in teachers if t.events),
        total_events=sum(t.events for t in teachers),
        outcomes=[_outcome(a) for a in await OutcomeRepository(session).of_pilot(district_id, pilot_id)],
    )


def _outcome(analysis: OutcomeAnalysis) -> PilotOutcome:
    figures = analysis.result.get("estimate") or {}
    return PilotOutcome(
        analysis_id=analysis.id,
        assessment=analysis.assessment,
        finding=analysis.result["finding"],
        summary=analysis.result["summary"],
        hedges_g=figures.get("hedges_g"),
        g_ci_low=figures.get("g_ci_low"),
        g_ci_high=figures.get("g_ci_high"),
        p_value=figures.get("p_value"),
        tier=analysis.result["tier"],
    )
