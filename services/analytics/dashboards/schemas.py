"""Dashboard documents (all JSON, read from the aggregates); each says how fresh it is."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, Field

from services.analytics.counting.schemas import Freshness


class LoginRow(BaseModel):
    """Logins of one period and one grade level or subject."""

    period_start: dt.date
    group: str
    logins: int
    active_users: int
    logins_per_user: float


class LoginReport(BaseModel):
    """Login frequency by grade level or subject, per week or month."""

    freshness: Freshness
    start: dt.date
    end: dt.date
    period: str
    group_by: str
    rows: list[LoginRow]


class SubmissionRow(BaseModel):
    """Digital submission rate (submitted / started) beside the paper baseline."""

    subject: str
    started: int
    submitted: int
    rate: float | None
    baseline_rate: float | None
    difference: float | None


class SubmissionReport(BaseModel):
    """Submission rates overall and per subject."""

    freshness: Freshness
    start: dt.date
    end: dt.date
    overall: SubmissionRow
    by_subject: list[SubmissionRow]


class FeatureCell(BaseModel):
    """One feature in one week."""

    week: dt.date
    events: int
    distinct_users: int


class FeatureRow(BaseModel):
    """One feature across the weeks (zero cells included: features gathering dust show)."""

    feature: str
    total_events: int
    cells: list[FeatureCell]


class FeatureHeatmap(BaseModel):
    """Feature x week heatmap."""

    freshness: Freshness
    start: dt.date
    end: dt.date
    weeks: list[dt.date]
    features: list[FeatureRow]


class LicenseRow(BaseModel):
    """Seats bought vs used for one tool."""

    tool_id: str
    tool_name: str | None
    seats_purchased: int
    seats_active: int
    dormant_seats: int
    utilization: float | None
    cost_per_seat: float
    total_cost: float
    dormant_cost: float


class LicenseReport(BaseModel):
    """License utilization over a window, with totals."""

    freshness: Freshness
    start: dt.date
    end: dt.date
    licenses: list[LicenseRow]
    seats_purchased: int
    seats_active: int
    dormant_seats: int
    dormant_cost: float


class QuarterBuyIn(BaseModel):
    """TAM buy-in in one quarter of the school year, against the district's target."""

    quarter: str = Field(examples=["2026-27 Q1"], description="School year and quarter.")
    start: dt.date
    end: dt.date
    respondents: int
    answers: int
    positive: int
    buy_in: float | None
    target: float | None
    meets_target: bool | None


class BuyIn(BaseModel):
    """TAM buy-in (DOMAIN.md §2: 85% staff buy-in, measured quarterly): the share of positive answers to
    the district's TAM survey (pilots' instrument, scale and threshold), each teacher's latest answer
    in the range; and the same per quarter of the school year the range touches."""

    respondents: int
    answers: int
    positive: int
    buy_in: float | None
    target: float | None = Field(description="The district's target (pilots' setting), when known.")
    meets_target: bool | None
    quarters: list[QuarterBuyIn] = Field(default_factory=list)


class TeacherRow(BaseModel):
    """Teacher utilization and adoption of one tool in a term."""

    tool_id: str
    tool_name: str | None
    status: str | None
    teachers: int
    teachers_basis: str
    active_teachers: int
    utilization: float | None
    under_threshold: bool | None
    adopted_teachers: int
    adoption_rate: float | None
    tam: BuyIn


class TeacherReport(BaseModel):
    """Teacher utilization per tool for a term."""

    freshness: Freshness
    start: dt.date
    end: dt.date
    threshold: float
    tools: list[TeacherRow]


class ErrorRow(BaseModel):
    """Technical errors of a tool in a week, by severity."""

    tool_id: str
    tool_name: str | None
    week: dt.date
    severity: str
    errors: int


class MonthlyReport(BaseModel):
    """The administrators' monthly report."""

    freshness: Freshness
    month: str
    start: dt.date
    end: dt.date
    logins_by_grade: LoginReport
    logins_by_subject: LoginReport
    submissions: SubmissionReport
    features: FeatureHeatmap
    licenses: LicenseReport
    teachers: TeacherReport
    buy_in: BuyIn = Field(
        description="The district's TAM buy-in over every tool (each teacher's latest answer about each "
        "tool), from the school year's start through the month's end, and per quarter of the school year "
        "against the district's target (85% by default, measured quarterly); one tool's with `tool_id`. "
        "`teachers.tools[].tam` holds each tool's within the month."
    )
    errors: list[ErrorRow]
