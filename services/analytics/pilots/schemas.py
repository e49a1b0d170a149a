"""Schemas of pilot usage."""

from __future__ import annotations

import datetime as dt
import uuid

from pydantic import BaseModel


class TeacherUsage(BaseModel):
    """One pilot teacher's use of the tool during the pilot."""

    teacher_id: str
    events: int
    logins: int
    submissions: int
    feature_uses: int
    minutes: float
    active_days: int


class PilotUsageRead(BaseModel):
    """Usage of a pilot's tool by its cohort of teachers during the pilot."""

    pilot_id: uuid.UUID
    tool_id: str
    start_date: dt.date
    end_date: dt.date
    teachers: list[TeacherUsage]
    active_teachers: int
    total_events: int
