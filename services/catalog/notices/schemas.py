"""Response bodies for retirement notices."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Literal

from pydantic import BaseModel, Field

NoticeKind = Literal["retirement", "cancellation"]
NoticeStatus = Literal["pending", "sending", "sent", "logged", "no_address", "failed"]


class NoticeRead(BaseModel):
    """A notice to a teacher: which tool retires (or no longer retires), when, where student work goes."""

    id: uuid.UUID
    tool_id: uuid.UUID
    tool_name: str
    retirement_id: uuid.UUID
    teacher_id: str
    kind: NoticeKind
    subject: str
    body: str
    notice_ends_at: dt.datetime = Field(description="When the tool retires (for a cancellation: would have).")
    archive_location: str
    status: NoticeStatus = Field(
        description="Email delivery: pending, sending (handed to the SMTP server, not yet confirmed), sent "
        "(SMTP), logged (no SMTP server configured), no_address (the roster has no email), failed (after "
        "every try)."
    )
    email: str | None
    created_at: dt.datetime
    sent_at: dt.datetime | None
