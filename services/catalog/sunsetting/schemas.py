"""Request and response bodies for flags and retirements."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

FlagKind = Literal["review", "removal_candidate"]
TeacherId = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class FlagCreate(BaseModel):
    """Flag a tool by hand for review or as a removal candidate."""

    model_config = ConfigDict(extra="forbid")

    kind: FlagKind
    note: str = Field(min_length=1, max_length=5000)


class FlagFilters(BaseModel):
    """How the district's flag list is narrowed; every filter is optional and they combine with AND."""

    open: bool | None = Field(
        default=None, description="true: unresolved flags only; false: resolved ones only; absent: both."
    )
    kind: FlagKind | None = None
    tool_id: uuid.UUID | None = None


class FlagRead(BaseModel):
    """A flag as stored; event flags carry the event's data."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    tool_id: uuid.UUID
    kind: FlagKind
    source: str
    event_id: str | None
    note: str | None
    data: dict[str, Any]
    created_by: str
    created_at: dt.datetime
    resolved_at: dt.datetime | None


class RetirementCreate(BaseModel):
    """Schedule an adopted tool's retirement: notice, teachers to notify, where student work goes."""

    model_config = ConfigDict(extra="forbid")

    archive_location: str = Field(
        min_length=1, max_length=500, description="Where student work is archived (URL or storage path)."
    )
    teacher_ids: list[TeacherId] | None = Field(
        default=None,
        max_length=10_000,
        description="Teachers to notify besides those who used the tool (analytics tells the catalog who "
        "did, with their roster emails).",
    )
    notice_days: int | None = Field(
        default=None, ge=0, le=365, description="Default: the district's setting."
    )
    reason: str | None = Field(default=None, max_length=2000)


class RetirementRead(BaseModel):
    """A scheduled (or completed) retirement."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    tool_id: uuid.UUID
    status: Literal["scheduled", "retired", "cancelled"]
    notice_days: int
    notice_starts_at: dt.datetime
    notice_ends_at: dt.datetime
    teacher_ids: list[str]
    archive_location: str
    reason: str | None
    scheduled_by: str
    retired_at: dt.datetime | None
    cancelled_at: dt.datetime | None = None
    cancelled_by: str | None = None
    cancel_reason: str | None = None


class RetirementCancel(BaseModel):
    """Call off a scheduled retirement; the tool stays adopted."""

    model_config = ConfigDict(extra="forbid")

    reason: str | None = Field(default=None, max_length=2000)


class RetirementRun(BaseModel):
    """What one pass of the retirement job did."""

    retired: list[RetirementRead]
    cancelled: list[RetirementRead]
