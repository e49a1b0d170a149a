"""Versioned event payloads the services exchange: past-tense value objects.

Every payload travels in a CloudEvents envelope (`shared.events.envelope`) whose `type` is
`org.edtech.<name>.v<version>`. Consumers ignore fields they do not know (`extra="ignore"`),
so adding an optional field is backwards compatible; removing or retyping one needs a new
version. Documented in docs/events.md.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, ClassVar, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from shared.events import topics


def _as_utc(value: dt.datetime) -> dt.datetime:
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


UTCTimestamp = Annotated[dt.datetime, AfterValidator(_as_utc)]
"""A moment in a payload, always aware UTC (a naive value is read as UTC rather than refused, so
one careless producer cannot turn its events into dead letters for every consumer)."""


ToolStatus = Literal[
    "proposed", "vetting", "approved_for_pilot", "piloting", "adopted", "sunsetting", "retired", "rejected"
]
PilotDecision = Literal["adopt", "extend", "reject"]
Severity = Literal["low", "medium", "high", "critical"]


class EventPayload(BaseModel):
    """Base of every payload: immutable, tolerant of unknown fields."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    name: ClassVar[str]
    version: ClassVar[int] = 1
    topic: ClassVar[str]

    @classmethod
    def event_type(cls) -> str:
        """The CloudEvents `type` of this payload."""
        return f"org.edtech.{cls.name}.v{cls.version}"

    def key(self) -> str:
        """The partition key: events with the same key stay in order."""
        raise NotImplementedError

    def subject(self) -> str:
        """The CloudEvents `subject`: what the event is about."""
        return self.key()


class _ToolKeyed(EventPayload):
    tool_id: uuid.UUID

    def key(self) -> str:
        return str(self.tool_id)

    def subject(self) -> str:
        return f"tools/{self.tool_id}"


class ToolRegistered(_ToolKeyed):
    """A tool entered the district's catalog."""

    name = "tool.registered"
    topic = topics.CATALOG_TOOLS

    tool_name: str
    vendor: str | None = None
    category: str | None = None
    status: ToolStatus
    subjects: list[str] = Field(default_factory=list)
    grade_bands: list[str] = Field(default_factory=list)


class ToolStatusChanged(_ToolKeyed):
    """A tool moved in its lifecycle."""

    name = "tool.status_changed"
    topic = topics.CATALOG_TOOLS

    tool_name: str
    from_status: ToolStatus | None
    to_status: ToolStatus
    reason: str | None = None
    actor: str | None = None
    changed_at: UTCTimestamp


class ToolRetirementScheduled(_ToolKeyed):
    """A tool's retirement was scheduled: its notice runs to `notice_ends_at`, and these teachers
    (those who used it) are told, by email and in their list of notices."""

    name = "tool.retirement_scheduled"
    topic = topics.CATALOG_TOOLS

    retirement_id: uuid.UUID
    tool_name: str
    notice_starts_at: UTCTimestamp
    notice_ends_at: UTCTimestamp
    archive_location: str
    reason: str | None = None
    teacher_ids: list[str] = Field(default_factory=list)
    scheduled_by: str


class ToolRetirementCancelled(_ToolKeyed):
    """A scheduled retirement was called off: the tool stays adopted and its teachers are told."""

    name = "tool.retirement_cancelled"
    topic = topics.CATALOG_TOOLS

    retirement_id: uuid.UUID
    tool_name: str
    reason: str | None = None
    teacher_ids: list[str] = Field(default_factory=list)
    cancelled_by: str
    cancelled_at: UTCTimestamp


class LicenseRecorded(_ToolKeyed):
    """A license of a tool as the catalog, its owner, now records it (sent on every change)."""

    name = "license.recorded"
    topic = topics.CATALOG_TOOLS

    license_id: uuid.UUID
    seats: int = Field(ge=1)
    teacher_seats: int | None = Field(default=None, ge=0, description="Teachers licensed, if it says.")
    price_total: float = Field(ge=0)
    term_start: dt.date
    term_end: dt.date
    recorded_at: UTCTimestamp


class PilotStarted(_ToolKeyed):
    """A classroom pilot of a tool began, with its teachers and dates."""

    name = "pilot.started"
    topic = topics.PILOTS_LIFECYCLE

    pilot_id: uuid.UUID
    teacher_ids: list[str]
    start_date: dt.date
    end_date: dt.date
    classes: list[str] = Field(default_factory=list)
    school_id: str | None = None

    def subject(self) -> str:
        return f"pilots/{self.pilot_id}"


class PilotCompleted(_ToolKeyed):
    """A pilot was decided: adopt, extend or reject."""

    name = "pilot.completed"
    topic = topics.PILOTS_LIFECYCLE

    pilot_id: uuid.UUID
    decision: PilotDecision
    rationale: str | None = None
    decided_at: UTCTimestamp
    new_end_date: dt.date | None = None

    def subject(self) -> str:
        return f"pilots/{self.pilot_id}"


class PilotCancelled(_ToolKeyed):
    """A pilot was called off before a decision; nothing was concluded about the tool."""

    name = "pilot.cancelled"
    topic = topics.PILOTS_LIFECYCLE

    pilot_id: uuid.UUID
    reason: str | None = None
    cancelled_at: UTCTimestamp
    was_started: bool
    active_pilots_remaining: int = Field(ge=0, description="The tool's other pilots still running.")

    def subject(self) -> str:
        return f"pilots/{self.pilot_id}"


class WeekOnTask(BaseModel):
    """A teacher's time-on-task over one pilot week's observations: on-task samples / present samples."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    week: int = Field(ge=1)
    observations: int = Field(ge=1)
    on_task: int = Field(ge=0)
    present: int = Field(ge=1)
    time_on_task: float = Field(ge=0, le=1)


class TimeOnTaskFell(_ToolKeyed):
    """Observed time-on-task in a pilot teacher's class fell from their first observed week by at least
    the district's margin: negative impact on instructional time, which calls for immediate review."""

    name = "pilot.time_on_task_fell"
    topic = topics.PILOTS_LIFECYCLE

    pilot_id: uuid.UUID
    teacher_id: str
    baseline: WeekOnTask
    observed: WeekOnTask
    drop: float = Field(ge=0, le=1, description="baseline.time_on_task - observed.time_on_task")
    threshold: float = Field(ge=0, le=1, description="The district's margin it reached.")
    observation_ids: list[uuid.UUID] = Field(default_factory=list, description="The observed week's.")
    detected_at: UTCTimestamp

    def subject(self) -> str:
        return f"pilots/{self.pilot_id}"


class TamCount(BaseModel):
    """TAM answers and how many of them are positive (at or above the instrument's threshold)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    answers: int = Field(ge=0)
    positive: int = Field(ge=0)


class TamAnswered(_ToolKeyed):
    """A teacher answered the district's TAM survey about a tool. The one TAM instrument and scale are
    pilots'; buy-in anywhere is the share of positive answers (DOMAIN.md §2: 85% staff buy-in, TAM)."""

    name = "pilot.tam_answered"
    topic = topics.PILOTS_LIFECYCLE

    pilot_id: uuid.UUID
    teacher_id: str
    phase: str
    overall: TamCount
    dimensions: dict[str, TamCount] = Field(default_factory=dict)
    scale_min: int
    scale_max: int
    threshold: int = Field(description="An answer at or above it is positive.")
    buy_in_target: float = Field(gt=0, le=1, description="The district's buy-in target (pilots' setting).")
    answered_at: UTCTimestamp

    def subject(self) -> str:
        return f"pilots/{self.pilot_id}"


class ErrorLogged(_ToolKeyed):
    """A technical failure during classroom use (from a pilot or an LMS report)."""

    name = "error.logged"
    topic = topics.PILOTS_ERRORS

    error_id: uuid.UUID
    pilot_id: uuid.UUID | None = None
    occurred_at: UTCTimestamp
    class_period: str | None = None
    severity: Severity
    platform: str | None = None
    category: str | None = None
    description: str
    source: Literal["pilot", "lms"] = "pilot"


class UtilizationDropped(_ToolKeyed):
    """A tool's teacher utilization fell under the district's threshold for a window."""

    name = "utilization.dropped"
    topic = topics.ANALYTICS_SIGNALS

    window_start: dt.date
    window_end: dt.date
    utilization: float = Field(ge=0, le=1)
    threshold: float = Field(ge=0, le=1)
    active_teachers: int = Field(ge=0)
    licensed_teachers: int = Field(ge=0)
    teacher_ids: list[str] = Field(default_factory=list, description="Teachers who use it: to notify.")


class LicenseDormant(_ToolKeyed):
    """Seats of a tool's license went unused for a window."""

    name = "license.dormant"
    topic = topics.ANALYTICS_SIGNALS

    license_id: uuid.UUID | None = None
    window_start: dt.date
    window_end: dt.date
    seats_purchased: int = Field(ge=0)
    seats_active: int = Field(ge=0)
    dormant_seats: int = Field(ge=0)
    dormant_cost: float | None = Field(default=None, ge=0)


class LicenseSeatsUsed(_ToolKeyed):
    """How many seats of a tool's license were used in a window (analytics' count, back to the catalog)."""

    name = "license.seats_used"
    topic = topics.ANALYTICS_SIGNALS

    license_id: uuid.UUID | None = None
    window_start: dt.date
    window_end: dt.date
    seats_purchased: int = Field(ge=0)
    seats_used: int = Field(ge=0)
    teachers_active: int = Field(ge=0)


class OutcomeEvidenceAttached(_ToolKeyed):
    """An edtech offered an outcome analysis of the tool as the evidence of its ESSA checklist point.

    Carries no student-level data: the finding, the tier it supports and a link to the analysis.
    """

    name = "outcome.evidence-attached"
    topic = topics.ANALYTICS_SIGNALS

    analysis_id: uuid.UUID
    tier: int = Field(ge=3, le=4, description="The ESSA tier the analysis supports (3 or 4).")
    finding: str = Field(max_length=40)
    summary: str = Field(max_length=1000)
    link: str = Field(max_length=2000, description="Where the analysis can be read.")
    attached_by: str = Field(max_length=255)


class DistrictTimeZoneChanged(EventPayload):
    """A district's time zone was set: its days, weeks, months and terms are cut in it from now on.

    Analytics owns the time zone (its district settings); the other services keep a copy from this
    event. Keyed by district so one district's changes stay in order.
    """

    name = "district.time_zone_changed"
    topic = topics.ANALYTICS_DISTRICT

    district_id: str = Field(min_length=1, max_length=64)
    time_zone: str = Field(description="An IANA time zone (`UTC` when the district set none).")
    revision: int = Field(
        ge=1, description="The district's count of time zone changes: a copy keeps the highest."
    )
    changed_at: UTCTimestamp

    def key(self) -> str:
        return self.district_id

    def subject(self) -> str:
        return f"districts/{self.district_id}"


EVENT_TYPES: dict[str, type[EventPayload]] = {
    model.event_type(): model
    for model in (
        ToolRegistered,
        ToolStatusChanged,
        ToolRetirementScheduled,
        ToolRetirementCancelled,
        LicenseRecorded,
        PilotStarted,
        PilotCompleted,
        PilotCancelled,
        TimeOnTaskFell,
        TamAnswered,
        ErrorLogged,
        UtilizationDropped,
        LicenseDormant,
        LicenseSeatsUsed,
        OutcomeEvidenceAttached,
        DistrictTimeZoneChanged,
    )
}
