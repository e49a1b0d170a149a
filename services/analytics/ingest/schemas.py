"""Webhook payload schemas: the platform's own usage event and the ingestion result."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared.events.contracts import Severity
from shared.validation import Moment

EventKind = Literal[
    "login",
    "logout",
    "assignment_started",
    "assignment_submitted",
    "assignment_completed",
    "feature_used",
    "time_in_tool",
    "viewed",
    "navigated",
    "error",
]
"""Normalized usage kinds every format maps to. `error` is a technical failure the LMS reports while the
tool is in use: stored like any event, and published as `error-logged` (`source: lms`)."""

ACTIVITY = "activity"
"""The kind of an event whose verb the vocabulary knows to say nothing we count (a video paused, a
grade entered): stored, and it shows the person active in the tool, nothing more."""
UNRECOGNIZED = "unrecognized"
"""The kind of an event whose verb, action or event name no vocabulary knows (`feature` holds it):
stored and reported per integration, never counted as a feature."""
MAX_DURATION_S = 86_400
"""The longest duration an event may carry: the rollups count time per day."""


class PlatformEvent(BaseModel):
    """One usage event in the platform's own JSON format."""

    model_config = ConfigDict(extra="forbid")

    event_id: str = Field(
        min_length=1, max_length=255, description="The sender's unique id (de-duplication)."
    )
    type: EventKind
    occurred_at: Moment
    user_id: str = Field(min_length=1, max_length=255, description="The user's OneRoster sourcedId.")
    tool_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=64,
        description="Only when the integration is not bound to one tool.",
    )
    class_id: str | None = Field(default=None, max_length=255, description="OneRoster class sourcedId.")
    feature: str | None = Field(default=None, min_length=1, max_length=200)
    duration_s: float | None = Field(default=None, ge=0, le=MAX_DURATION_S, allow_inf_nan=False)
    assignment_id: str | None = Field(default=None, max_length=255)
    severity: Severity | None = Field(
        default=None, description="Of an `error`: how badly it disrupted (medium)."
    )
    description: str | None = Field(
        default=None, min_length=1, max_length=5000, description="Of an `error`: what failed (required)."
    )
    class_period: str | None = Field(default=None, max_length=50, description="Of an `error`: the period.")
    category: str | None = Field(default=None, max_length=64, description="Of an `error`: login, crash...")

    @model_validator(mode="after")
    def _kind_fields(self) -> PlatformEvent:
        if self.type == "feature_used" and not self.feature:
            raise ValueError("feature is required for feature_used events")
        if self.type == "time_in_tool" and self.duration_s is None:
            raise ValueError("duration_s is required for time_in_tool events")
        if self.type == "error" and not self.description:
            raise ValueError("description is required for error events")
        return self


@dataclass(slots=True)
class Normalized:
    """A usage event in any format, reduced to what analytics stores."""

    event_id: str
    kind: str
    occurred_at: dt.datetime
    user_id: str
    tool_id: str
    class_id: str | None = None
    feature: str | None = None
    duration_s: float | None = None
    identities: tuple[str, ...] = ()
    """The actor's identifier keys, best first (`identity.keys`), while it is not matched to a
    rostered person; empty once matched and for formats that carry sourcedIds (platform JSON)."""
    error: ErrorDetail | None = None
    """What an `error` event says of the failure (platform JSON); other formats name it in `feature`."""


@dataclass(slots=True, frozen=True)
class ErrorDetail:
    """A failure an LMS reports: how bad, what failed, in which class period, of what kind."""

    severity: str = "medium"
    description: str | None = None
    class_period: str | None = None
    category: str | None = None


class RejectedEvent(BaseModel):
    """A malformed event of a delivery, by its index in the batch."""

    index: int
    errors: list[dict[str, str]]


class IngestResult(BaseModel):
    """What a delivery did: new events stored, duplicates skipped, malformed ones rejected."""

    accepted: int
    duplicates: int
    rejected: list[RejectedEvent] = Field(default_factory=list)
    replay: bool = Field(default=False, description="This webhook-id was already applied: nothing changed.")
