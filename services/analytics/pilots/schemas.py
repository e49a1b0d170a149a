"""Schemas of pilot usage."""

from __future__ import annotations

import datetime as dt
import uuid

from pydantic import BaseModel, Field


class TeacherUsage(BaseModel):
    """One pilot teacher's use of the tool during the pilot."""

    teacher_id: str
    events: int
    logins: int
    submissions: int
    feature_uses: int
    minutes: float
    active_days: int


class PilotOutcome(BaseModel):
    """An outcome analysis of the pilot's cohort (no student-level data)."""

    analysis_id: uuid.UUID
    assessment: str
    finding: str
    summary: str
    hedges_g: float | None
    g_ci_low: float | None
    g_ci_high: float | None
    p_value: float | None
    tier: int = Field(description="The ESSA tier this evidence supports (3 or 4).")


class PilotUsageRead(BaseModel):
    """Usage of a pilot's tool by its cohort of teachers during the pilot."""

    pilot_id: uuid.UUID
    tool_id: str
    start_date: dt.date
    end_date: dt.date
    teachers: list[TeacherUsage]
    active_teachers: int
    total_events: int
    outcomes: list[PilotOutcome] = Field(
        default_factory=list, description="Outcome analyses of the pilot's cohort, newest first."
    )
