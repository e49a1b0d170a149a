"""Request and response bodies for pilot plans and their lifecycle."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.events.contracts import PilotDecision
from shared.validation import Day

PilotStatus = Literal["planned", "active", "evaluating", "decided", "cancelled"]
TeacherId = Annotated[str, Field(min_length=1, max_length=200)]
"""A teacher's IdP subject, as the teacher id columns hold it."""
Goal = Annotated[str, Field(max_length=1000)]


class PilotClass(BaseModel):
    """A class taking part in a pilot, with its period (and its teacher, when known)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100, examples=["Algebra I"])
    period: str = Field(min_length=1, max_length=50, examples=["3"])
    teacher_id: str | None = Field(default=None, max_length=200)


class PilotCreate(BaseModel):
    """A pilot plan for one tool approved for pilot."""

    model_config = ConfigDict(extra="forbid")

    tool_id: uuid.UUID
    title: str = Field(min_length=1, max_length=200)
    goals: list[Goal] = Field(min_length=1, max_length=20, description="Learning goals the pilot tests.")
    teacher_ids: list[TeacherId] = Field(
        min_length=1, max_length=100, description="Volunteer teachers (IdP subjects); 3 at least by default."
    )
    start_date: Day
    weeks: int | None = Field(
        default=None, ge=1, le=52, description="Length; the district's default (4) when absent, 4-6 allowed."
    )
    classes: list[PilotClass] = Field(default_factory=list, max_length=100)
    school_id: str | None = Field(default=None, max_length=64)


class PilotStart(BaseModel):
    """Starting a pilot; a new start date may be given if the planned one has passed."""

    model_config = ConfigDict(extra="forbid")

    start_date: Day | None = None


class PilotCancel(BaseModel):
    """Why a pilot is cancelled."""

    model_config = ConfigDict(extra="forbid")

    reason: str | None = Field(default=None, max_length=2000)


class PilotDecisionCreate(BaseModel):
    """The decision after evaluation: adopt, extend (by some weeks) or reject, with its rationale."""

    model_config = ConfigDict(extra="forbid")

    decision: PilotDecision
    rationale: str = Field(min_length=1, max_length=10_000)
    extend_weeks: int | None = Field(default=None, ge=1, le=52, description="For `extend` only (default 1).")


class PilotRead(BaseModel):
    """A pilot as stored."""

    id: uuid.UUID
    tool_id: uuid.UUID
    title: str
    goals: list[str]
    teacher_ids: list[str]
    classes: list[PilotClass]
    school_id: str | None
    start_date: dt.date
    weeks: int
    end_date: dt.date
    status: PilotStatus
    decision: PilotDecision | None
    rationale: str | None
    decided_at: dt.datetime | None
    decided_by: str | None
    created_by: str
    created_at: dt.datetime
    updated_at: dt.datetime


class PilotTransitionRead(BaseModel):
    """One recorded lifecycle move."""

    model_config = ConfigDict(from_attributes=True)

    from_status: PilotStatus | None
    to_status: PilotStatus
    decision: PilotDecision | None
    actor: str
    reason: str | None
    at: dt.datetime
