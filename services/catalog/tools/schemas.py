"""Request and response bodies for tools and their lifecycle."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from shared.events.contracts import ToolStatus

Usage = Literal["supplemental", "core"]
ChecklistState = Literal["pending", "passed", "failed"]
Tag = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50)]


class ToolCreate(BaseModel):
    """A tool to register; it enters the lifecycle as `proposed`."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    vendor: str | None = Field(default=None, max_length=200, description="Vendor name (or give vendor_id).")
    vendor_id: uuid.UUID | None = Field(default=None, description="A vendor of the district.")
    category: str | None = Field(default=None, max_length=100)
    description: str | None = Field(default=None, max_length=10_000)
    url: str | None = Field(default=None, max_length=500)
    subjects: list[Tag] = Field(default_factory=list, max_length=50)
    grade_bands: list[Tag] = Field(default_factory=list, max_length=20, examples=[["K-2", "6-8"]])
    platforms: list[Tag] = Field(default_factory=list, max_length=20, examples=[["web", "ios", "android"]])
    smartphone_support: bool = False
    usage: Usage = Field(default="supplemental", description="Supplemental or core curriculum tool.")


class ToolUpdate(BaseModel):
    """Fields to change on a tool (the status changes only through transitions)."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=200)
    vendor: str | None = Field(default=None, max_length=200)
    vendor_id: uuid.UUID | None = None
    category: str | None = Field(default=None, max_length=100)
    description: str | None = Field(default=None, max_length=10_000)
    url: str | None = Field(default=None, max_length=500)
    subjects: list[Tag] | None = Field(default=None, max_length=50)
    grade_bands: list[Tag] | None = Field(default=None, max_length=20)
    platforms: list[Tag] | None = Field(default=None, max_length=20)
    smartphone_support: bool | None = None
    usage: Usage | None = None


class ToolRead(BaseModel):
    """A tool as stored."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    vendor: str | None
    vendor_id: uuid.UUID | None
    category: str | None
    description: str | None
    url: str | None
    subjects: list[str]
    grade_bands: list[str]
    platforms: list[str]
    smartphone_support: bool
    usage: Usage
    status: ToolStatus
    checklist_state: ChecklistState
    created_at: dt.datetime
    updated_at: dt.datetime


class ToolFilters(BaseModel):
    """How a tool list is narrowed; every filter is optional and they combine with AND."""

    status: ToolStatus | None = None
    category: str | None = None
    subject: str | None = None
    grade_band: str | None = None
    vendor: str | None = None
    vendor_id: uuid.UUID | None = None
    usage: Usage | None = None
    checklist_state: ChecklistState | None = None
    smartphone_support: bool | None = None
    q: str | None = None


class TransitionRequest(BaseModel):
    """A requested lifecycle move."""

    model_config = ConfigDict(extra="forbid")

    to_status: ToolStatus
    reason: str | None = Field(default=None, max_length=2000)
    override_reason: str | None = Field(
        default=None,
        min_length=1,
        max_length=2000,
        description="Approve for pilot despite failed non-privacy checklist points (recorded). "
        "Never overrides a privacy failure or a missing standards alignment.",
    )


class ToolTransitionRead(BaseModel):
    """One recorded lifecycle move."""

    model_config = ConfigDict(from_attributes=True)

    from_status: ToolStatus | None
    to_status: ToolStatus
    actor: str
    reason: str | None
    override_reason: str | None = None
    at: dt.datetime
