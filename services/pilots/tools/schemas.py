"""Response bodies for the local tool copy."""

from __future__ import annotations

import datetime as dt
import uuid

from pydantic import BaseModel, ConfigDict


class ToolCopyRead(BaseModel):
    """A tool's status as last heard from the catalog."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    status: str
    updated_at: dt.datetime
