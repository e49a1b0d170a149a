"""Schemas of outcome evidence: result uploads, analysis requests and what an analysis found."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from services.analytics.rosters.schemas import RowError
from shared.validation import Day

MAX_ERRORS = 100
"""Most row errors an upload answers (the counts stay exact)."""

DosageMeasure = Literal["active_days", "minutes", "sessions"]
Comparison = Literal["non_users", "low_users"]


class ResultUploadRead(BaseModel):
    """What an upload of achievement results stored and refused."""

    stored: int = Field(
        description="Results stored (a re-upload of the same student, assessment and day replaces it)."
    )
    rejected: int
    errors: list[RowError] = Field(description=f"The first {MAX_ERRORS} refused rows, by file and line.")
    assessments: list[str]


class AnalysisCreate(BaseModel):
    """An analysis to run: a tool's users (or a pilot's cohort) against a comparison group."""

    model_config = ConfigDict(extra="forbid")

    tool_id: uuid.UUID | None = Field(default=None, description="The tool whose users are analysed.")
    pilot_id: uuid.UUID | None = Field(
        default=None, description="Or a pilot: its classes' students against the same grades' others."
    )
    assessment: str = Field(min_length=1, max_length=200, examples=["Spring MAP Math"])
    start: Day | None = Field(default=None, description="Window of use (default: the pilot's dates).")
    end: Day | None = None
    dosage: DosageMeasure = Field(
        default="active_days",
        description="How use is measured from the usage events: days with any use, minutes in the "
        "tool (from time-in-tool events), or logins.",
    )
    min_dosage: float = Field(
        default=5, gt=0, le=10_000, description="Use at least this much to count as a user."
    )
    comparison: Comparison = Field(
        default="non_users",
        description="non_users: students with no use at all; low_users: students under `min_dosage`.",
    )

    @model_validator(mode="after")
    def _subject(self) -> AnalysisCreate:
        if (self.tool_id is None) == (self.pilot_id is None):
            raise ValueError("name either tool_id or pilot_id")
        if self.pilot_id is None and (self.start is None or self.end is None):
            raise ValueError("start and end are required for a tool's analysis")
        if self.start and self.end and self.end < self.start:
            raise ValueError("end is before start")
        return self


class GroupRead(BaseModel):
    """One group of the analysis (suppressed figures are null)."""

    students: int | None = Field(description="Null when under 10 (suppressed).")
    eligible: int | None = Field(
        description="Students of the group with or without an outcome (null under 10)."
    )
    attrition: float | None = Field(description="Share of the eligible without an outcome.")
    outcome_mean: float | None = None
    outcome_sd: float | None = None
    prior_mean: float | None = None
    prior_sd: float | None = None
    mean_dosage: float | None = None


class EstimateRead(BaseModel):
    """The statistics (services/analytics/outcomes/statistics.py explains each)."""

    hedges_g: float | None
    g_ci_low: float | None
    g_ci_high: float | None
    p_value: float | None
    difference: float | None = Field(description="Adjusted mean difference, in the assessment's units.")
    standard_error: float | None = Field(description="Robust to clustering by class.")
    controls: list[str]
    classes: int
    schools: int
    icc: float | None
    mde: float | None = Field(description="Minimum detectable effect (SD) at 80% power, two-sided 5%.")
    baseline_g: float | None
    baseline: str = Field(description="WWC baseline equivalence on the prior score.")


class AnalysisRead(BaseModel):
    """An analysis as it was run."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    tool_id: str
    pilot_id: uuid.UUID | None
    assessment: str
    window_start: dt.date
    window_end: dt.date
    dosage: DosageMeasure
    min_dosage: float
    comparison: Comparison
    finding: Literal["positive", "negative", "no detectable effect", "underpowered", "suppressed"]
    summary: str
    tier: Literal[3, 4] = Field(description="The ESSA tier this evidence can support (never 1 or 2).")
    tier_reason: str
    treated: GroupRead
    comparison_group: GroupRead
    differential_attrition: float | None
    estimate: EstimateRead | None
    created_at: dt.datetime
    evidence_attached_at: dt.datetime | None
