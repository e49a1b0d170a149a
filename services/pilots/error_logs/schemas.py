"""Request and response bodies for error logs and recurring patterns."""

from __future__ import annotations

import datetime as dt
import uuid

from pydantic import BaseModel, ConfigDict, Field

from shared.events.contracts import Severity
from shared.validation import Moment


class ErrorLogCreate(BaseModel):
    """A technical failure of a tool in use: what failed, when, in which class period, on what device."""

    model_config = ConfigDict(extra="forbid")

    what_failed: str = Field(min_length=1, max_length=5000, examples=["Quiz would not load after login"])
    occurred_at: Moment = Field(description="When it happened (with its time zone).")
    class_period: str | None = Field(default=None, max_length=50, examples=["3"])
    device: str | None = Field(default=None, max_length=100, examples=["Chromebook"])
    platform: str | None = Field(default=None, max_length=100, examples=["ChromeOS 126"])
    severity: Severity
    category: str | None = Field(default=None, max_length=64, examples=["login"])
    teacher_id: str | None = Field(
        default=None, max_length=200, description="Whose class; a teacher reporting is always themselves."
    )


class ErrorPattern(BaseModel):
    """A failure of one tool recurring in the same class period on several days within the window."""

    tool_id: uuid.UUID
    class_period: str
    days: list[dt.date]
    occurrences: int
    first_at: dt.datetime
    last_at: dt.datetime
    window_days: int
    min_days: int


class ErrorLogRead(BaseModel):
    """An error log as stored."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    pilot_id: uuid.UUID | None = Field(description="The pilot it happened in; null for a tool in use.")
    tool_id: uuid.UUID
    teacher_id: str | None
    what_failed: str
    category: str | None
    occurred_at: dt.datetime
    class_period: str | None
    device: str | None
    platform: str | None
    severity: Severity
    reported_by: str
    created_at: dt.datetime


class ErrorLogCreated(ErrorLogRead):
    """The stored log, and the recurring pattern it belongs to, if any."""

    pattern: ErrorPattern | None = None


class ErrorPatternReport(BaseModel):
    """The recurring-period patterns of a pilot's tool, with the rule used to find them."""

    min_days: int
    window_days: int
    patterns: list[ErrorPattern]
