"""Request and response bodies for teacher tool requests."""

from __future__ import annotations

import datetime as dt
import uuid

from pydantic import BaseModel, ConfigDict, Field

from services.catalog.tools.schemas import ToolCreate, ToolRead


class ToolRequestCreate(BaseModel):
    """A teacher's request: the tool to consider and why."""

    model_config = ConfigDict(extra="forbid")

    tool: ToolCreate
    justification: str = Field(min_length=1, max_length=5000)
    school_id: str | None = Field(default=None, max_length=100)


class ToolRequestRead(BaseModel):
    """A request and the tool it proposed."""

    id: uuid.UUID
    requested_by: str
    justification: str
    school_id: str | None
    created_at: dt.datetime
    tool: ToolRead
