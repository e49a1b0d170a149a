"""HTTP routes for dashboards: JSON figures filtered by dates, school and tool.

Admins, technologists and specialists see the whole district; teachers see the dashboards of
their own classes (their students and themselves) only.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Query

from services.analytics.dashboards import service
from services.analytics.dashboards.repository import Scope
from services.analytics.dashboards.schemas import (
    ErrorRow,
    FeatureHeatmap,
    LicenseReport,
    LoginReport,
    MonthlyReport,
    SubmissionReport,
    TeacherReport,
)
from services.analytics.deps import SettingsDep, Staff, Viewer
from services.analytics.district.service import effective_settings
from services.analytics.rosters.terms import term_containing
from shared.api import SessionDep
from shared.auth import Principal
from shared.clock import clock_of
from shared.errors import Unprocessable
from shared.time_zones import local_date
from shared.validation import DATE_RANGE, MAX_DATE, MIN_DATE, Day

router = APIRouter(prefix="/dashboards", tags=["dashboards"])
reports = APIRouter(prefix="/reports", tags=["dashboards"])

From = Annotated[Day | None, Query(alias="from", description="First day (default: 12 whole weeks back).")]
To = Annotated[Day | None, Query(alias="to", description="Last day, inclusive (default: this Sunday).")]
ToolQ = Annotated[uuid.UUID | None, Query(description="Only this tool.")]
SchoolQ = Annotated[str | None, Query(max_length=255, description="Only users of this school (sourcedId).")]
MAX_DAYS = 3 * 366


def make_scope(
    principal: Principal,
    start: dt.date | None,
    end: dt.date | None,
    tool_id: uuid.UUID | None,
    school_id: str | None,
    *,
    default_days: int = 84,
) -> Scope:
    """The caller's scope: its district, the dates, filters, and a teacher's own classes."""
    today = dt.datetime.now(dt.UTC).date()
    end = end or today + dt.timedelta(days=6 - today.weekday())  # whole weeks: group counters only
    start = start or end - dt.timedelta(days=default_days - 1)
    if start > end:
        raise Unprocessable("`from` is after `to`", field="from")
    if (end - start).days > MAX_DAYS:
        raise Unprocessable(f"the range spans more than {MAX_DAYS} days", field="from")
    staff = principal.has_any("edtech", "admin", "specialist")
    return Scope(
        district_id=principal.district_id,
        start=start,
        end=end,
        tool_id=str(tool_id) if tool_id else None,
        school_id=school_id,
        teacher_id=None if staff else principal.subject,
    )


@router.get("/logins", response_model=LoginReport)
async def login_frequency(
    session: SessionDep,
    principal: Viewer,
    start: From = None,
    end: To = None,
    tool_id: ToolQ = None,
    school_id: SchoolQ = None,
    period: Literal["week", "month"] = "week",
    group_by: Literal["grade", "subject"] = "grade",
) -> LoginReport:
    """Login frequency per week or month by grade level or subject."""
    scope = make_scope(principal, start, end, tool_id, school_id)
    return await service.logins(session, scope, period=period, group=group_by)


@router.get("/submissions", response_model=SubmissionReport)
async def submission_rates(
    session: SessionDep,
    principal: Viewer,
    start: From = None,
    end: To = None,
    tool_id: ToolQ = None,
    school_id: SchoolQ = None,
) -> SubmissionReport:
    """Assignment submission rates (submitted / started) against the paper-based baselines."""
    return await service.submissions(session, make_scope(principal, start, end, tool_id, school_id))


@router.get("/features", response_model=FeatureHeatmap)
async def feature_heatmap(
    session: SessionDep,
    principal: Viewer,
    start: From = None,
    end: To = None,
    tool_id: ToolQ = None,
    school_id: SchoolQ = None,
) -> FeatureHeatmap:
    """Feature x week heatmap: events and distinct users (unused weeks are zeros)."""
    return await service.features(session, make_scope(principal, start, end, tool_id, school_id))


@router.get("/licenses", response_model=LicenseReport)
async def license_utilization(
    session: SessionDep, principal: Staff, start: From = None, end: To = None, tool_id: ToolQ = None
) -> LicenseReport:
    """Active seats vs seats bought per tool, dormant seats and their cost (district-wide)."""
    return await service.licenses(session, make_scope(principal, start, end, tool_id, None))


@router.get("/teachers", response_model=TeacherReport)
async def teacher_utilization(
    session: SessionDep,
    principal: Staff,
    defaults: SettingsDep,
    start: From = None,
    end: To = None,
    tool_id: ToolQ = None,
    school_id: SchoolQ = None,
) -> TeacherReport:
    """Teacher utilization per tool in a term (default: the current term), adoption and TAM buy-in."""
    settings = await effective_settings(session, district_id=principal.district_id, defaults=defaults)
    if start is None and end is None:
        today = local_date(clock_of(session).now(), settings.time_zone)
        term = await term_containing(session, district_id=principal.district_id, settings=settings, day=today)
        start, end = term.start, term.end
    return await service.teachers(session, make_scope(principal, start, end, tool_id, school_id), settings)


@router.get("/errors", response_model=list[ErrorRow])
async def error_counts(
    session: SessionDep, principal: Staff, start: From = None, end: To = None, tool_id: ToolQ = None
) -> list[ErrorRow]:
    """Technical errors (from error-logged) per tool, week and severity."""
    return await service.errors(session, make_scope(principal, start, end, tool_id, None))


@reports.get("/monthly", response_model=MonthlyReport)
async def monthly_report(
    session: SessionDep,
    principal: Staff,
    defaults: SettingsDep,
    month: Annotated[str, Query(description="YYYY-MM")],
    tool_id: ToolQ = None,
    school_id: SchoolQ = None,
) -> MonthlyReport:
    """The administrators' monthly report: logins, submissions, features, licenses, teachers, errors."""
    shaped = re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", month)
    if not shaped or not MIN_DATE.year <= int(month[:4]) <= MAX_DATE.year:
        raise Unprocessable(f"month must look like 2026-03, within {DATE_RANGE}", field="month")
    first = dt.date(int(month[:4]), int(month[5:]), 1)
    last = (first.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1)
    settings = await effective_settings(session, district_id=principal.district_id, defaults=defaults)
    scope = make_scope(principal, first, last, tool_id, school_id)
    return await service.monthly(session, scope, settings, month=month)
