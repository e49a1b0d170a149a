"""Response bodies for a tool's reliability note."""

from __future__ import annotations

import datetime as dt
import uuid

from pydantic import BaseModel, Field


class ReliabilityRead(BaseModel):
    """Errors reported for a tool: counts by severity and class period, the last one's time, a note."""

    tool_id: uuid.UUID
    total_errors: int
    by_severity: dict[str, int] = Field(description="low, medium, high, critical")
    by_class_period: dict[str, int] = Field(
        description="Errors per class period: repeated crashes show here."
    )
    last_error_at: dt.datetime | None
    note: str
