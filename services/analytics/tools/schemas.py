"""Response bodies about one catalog tool's use."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, Field


class TeacherUsing(BaseModel):
    """A rostered teacher who used the tool, with the roster's email."""

    teacher_id: str
    email: str | None = Field(description="From the roster (OneRoster users.csv); null when it has none.")
    last_used_on: dt.date


class ToolTeachersRead(BaseModel):
    """The teachers who used a tool since a day (whom to tell when it retires)."""

    tool_id: str
    since: dt.date
    teachers: list[TeacherUsing]
