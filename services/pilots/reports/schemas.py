"""Response bodies for the pilot report and the rollout plan."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, Literal

from pydantic import BaseModel, Field

from services.pilots.error_logs.schemas import ErrorPattern
from services.pilots.observations.schemas import ObservationSummary
from services.pilots.plans.schemas import PilotRead
from services.pilots.surveys.schemas import TamResult, TtisResult
from shared.events.contracts import PilotDecision


class ErrorSummary(BaseModel):
    """Errors of the pilot against its observed sessions, and the recurring-period patterns."""

    logged: int
    by_severity: dict[str, int]
    observed_sessions: int
    rate_per_observed_session: float | None = Field(description="Errors logged / observations recorded.")
    patterns: list[ErrorPattern]


class DecisionRead(BaseModel):
    """The decision taken on the pilot."""

    decision: PilotDecision
    rationale: str | None
    decided_at: dt.datetime | None
    decided_by: str | None


class PilotReport(BaseModel):
    """One document with the pilot's evidence and its decision."""

    pilot: PilotRead
    generated_at: dt.datetime
    schedule: dict[str, int] = Field(description="Observation slots done, due and missed as of today.")
    time_on_task: ObservationSummary
    ttis: TtisResult
    tam: list[TamResult]
    errors: ErrorSummary
    usage: dict[str, Any] | None = Field(description="From analytics when it answers; null otherwise.")
    decision: DecisionRead | None


class RolloutPhase(BaseModel):
    """One year of the rollout."""

    year: int
    name: Literal["early_adopters", "grade_level_teams", "full_rollout"]
    audience: str
    teachers: int | None = Field(
        description="How many teachers join (year 1); null means the whole audience."
    )
    starts_on: dt.date
    ends_on: dt.date
    buy_in_target: float
    checkpoints: list[dt.date] = Field(description="Quarterly TAM buy-in measurements.")


class RolloutPlan(BaseModel):
    """The three-year rollout plan of an adopted tool, gated on buy-in each phase."""

    pilot_id: uuid.UUID
    tool_id: uuid.UUID
    seed_teachers: list[str] = Field(description="The pilot's teachers: the first early adopters.")
    buy_in_target: float
    current_buy_in: float | None = Field(
        description="Share of positive TAM answers in the pilot's latest phase."
    )
    meets_target: bool | None
    phases: list[RolloutPhase]
