"""Schemas of signal evaluation."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field


class SignalRead(BaseModel):
    """A signal published for a tool and window."""

    model_config = ConfigDict(from_attributes=True)

    signal: str
    tool_id: str
    window_start: dt.date
    window_end: dt.date
    value: float
    event_id: str


class EvaluationRead(BaseModel):
    """What one evaluation judged and published (already published signals are not repeated)."""

    window_start: dt.date | None
    window_end: dt.date | None
    published: list[SignalRead]
    waiting_for_counting: bool = Field(
        default=False,
        description="The window is not judged yet: some of its events still wait to be counted, or the "
        "district is being recounted (see the dashboards' freshness); a later evaluation judges it.",
    )
