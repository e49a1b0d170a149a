"""Request and response bodies for tools."""

from __future__ import annotations

import datetime as dt
import uuid

from pydantic import BaseModel, ConfigDict, Field

from shared.events.contracts import ToolStatus


class ToolCreate(BaseModel):
    """A tool to register; it enters the lifecycle as `proposed`."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    vendor: str | None = Field(default=None, max_length=200)
    category: str | None = Field(default=None, max_length=100)
    description: str | None = Field(default=None, max_length=10_000)
    url: str | None = Field(default=None, max_length=500)
    subjects: list[str] = Field(default_factory=list, max_length=50)
    grade_bands: list[str] = Field(default_factory=list, max_length=20)


class ToolRead(BaseModel):
    """A tool as stored."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    vendor: str | None
    category: str | None
    description: str | None
    url: str | None
    subjects: list[str]
    grade_bands: list[str]
    status: ToolStatus
    created_at: dt.datetime
    updated_at: dt.datetime


class ToolTransitionRead(BaseModel):
    """One recorded lifecycle move."""

    model_config = ConfigDict(from_attributes=True)

    from_status: ToolStatus | None
    to_status: ToolStatus
    actor: str
    reason: str | None
    at: dt.datetime
