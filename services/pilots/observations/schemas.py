"""Request and response bodies for the observation schedule and observations."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared.api import Page
from shared.validation import Day

SlotStatus = Literal["done", "due", "missed"]
SamrLevel = Literal["substitution", "augmentation", "modification", "redefinition"]


class SlotRead(BaseModel):
    """A planned observation of one teacher: done, due (today or later) or missed."""

    id: uuid.UUID
    teacher_id: str
    week: int
    scheduled_on: dt.date
    status: SlotStatus
    observation_id: uuid.UUID | None


class SchedulePage(Page[SlotRead]):
    """A page of the schedule, with the count of every status over the whole filtered schedule."""

    as_of: dt.date
    counts: dict[SlotStatus, int]


class Interval(BaseModel):
    """One sampling interval: students on task out of students present."""

    model_config = ConfigDict(extra="forbid")

    on_task: int = Field(ge=0, le=1000)
    present: int = Field(ge=0, le=1000)

    @model_validator(mode="after")
    def _on_task_within_present(self) -> Interval:
        if self.on_task > self.present:
            raise ValueError(f"on_task ({self.on_task}) cannot exceed present ({self.present})")
        return self


class PicratCell(BaseModel):
    """A PICRAT cell: students' use x the teacher's."""

    model_config = ConfigDict(extra="forbid")

    student: Literal["passive", "interactive", "creative"]
    teacher: Literal["replacement", "amplification", "transformation"]


class ObservationCreate(BaseModel):
    """An observation of one pilot teacher's class."""

    model_config = ConfigDict(extra="forbid")

    teacher_id: str = Field(min_length=1, max_length=200)
    observed_on: Day
    slot_id: uuid.UUID | None = Field(default=None, description="The slot it fills; found by week if absent.")
    class_period: str | None = Field(default=None, max_length=50)
    intervals: list[Interval] = Field(
        min_length=1, max_length=100, description="Samples every interval (5 minutes by default)."
    )
    samr_level: SamrLevel | None = None
    picrat: PicratCell | None = None
    notes: str | None = Field(default=None, max_length=10_000)


class ObservationRead(BaseModel):
    """An observation as stored, with its time-on-task."""

    id: uuid.UUID
    pilot_id: uuid.UUID
    teacher_id: str
    observer: str
    observed_on: dt.date
    week: int
    slot_id: uuid.UUID | None
    class_period: str | None
    interval_minutes: int
    intervals: list[Interval]
    on_task_total: int
    present_total: int
    time_on_task: float | None
    samr_level: SamrLevel | None
    picrat: PicratCell | None
    notes: str | None
    created_at: dt.datetime


class TimeOnTask(BaseModel):
    """Time-on-task over some observations: sum(on_task) / sum(present)."""

    observations: int
    intervals: int
    on_task: int
    present: int
    time_on_task: float | None


class TeacherSummary(TimeOnTask):
    """One teacher's observations."""

    teacher_id: str


class WeekSummary(TimeOnTask):
    """One pilot week's observations."""

    week: int


class ObservationSummary(BaseModel):
    """Observations summed up per teacher, per week and overall, with SAMR and PICRAT counts."""

    overall: TimeOnTask
    per_teacher: list[TeacherSummary]
    per_week: list[WeekSummary]
    samr: dict[str, int]
    picrat: dict[str, int] = Field(
        description="Counts by `student/teacher` cell, e.g. `interactive/amplification`."
    )
