"""Response bodies for tool documents."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Literal

from pydantic import BaseModel, ConfigDict

DocumentKind = Literal["privacy_policy", "data_privacy_agreement", "evidence", "accessibility", "other"]


class DocumentRead(BaseModel):
    """A document about a tool, without its content (`.../content` downloads it)."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    tool_id: uuid.UUID
    vendor_id: uuid.UUID | None
    kind: DocumentKind
    title: str
    filename: str
    content_type: str
    size: int
    uploaded_by: str
    uploaded_at: dt.datetime
