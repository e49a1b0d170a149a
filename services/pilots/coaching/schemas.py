"""Request and response bodies for coaching cycles."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.validation import Day

CoachingStepName = Literal["goal_setting_conference", "model_lesson", "co_teaching", "reflective_debrief"]
STEPS: tuple[CoachingStepName, ...] = (
    "goal_setting_conference",
    "model_lesson",
    "co_teaching",
    "reflective_debrief",
)


class CoachingCycleCreate(BaseModel):
    """A coaching cycle for one pilot teacher; its four steps spread over the cycle."""

    model_config = ConfigDict(extra="forbid")

    teacher_id: str = Field(min_length=1, max_length=200)
    start_date: Day
    weeks: int | None = Field(
        default=None, ge=1, le=12, description="The district's cycle length (4) if absent."
    )
    focus: str | None = Field(default=None, max_length=5000)


class CoachingStepUpdate(BaseModel):
    """When a step is planned or was held, and what happened."""

    model_config = ConfigDict(extra="forbid")

    planned_on: Day | None = None
    held_on: Day | None = None
    notes: str | None = Field(default=None, max_length=10_000)


class CoachingStepRead(BaseModel):
    """One step of a cycle."""

    model_config = ConfigDict(from_attributes=True)

    step: CoachingStepName
    position: int
    planned_on: dt.date
    held_on: dt.date | None
    notes: str | None


class CoachingCycleRead(BaseModel):
    """A coaching cycle and its four steps in order."""

    id: uuid.UUID
    pilot_id: uuid.UUID
    teacher_id: str
    coach: str
    start_date: dt.date
    end_date: dt.date
    weeks: int
    focus: str | None
    steps: list[CoachingStepRead]
    completed: bool
    created_at: dt.datetime
