"""Analytics models: integrations, usage events and their rollups, rosters, district inputs, signals."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from services.analytics.db import Base
from shared.db import JSONType, UTCDateTime, new_id, utcnow

ID = String(255)
"""External identifiers (LMS user ids, OneRoster sourcedIds, event ids)."""


class DistrictSetting(Base):
    """A district's overrides of the analytics defaults (null = the service default)."""

    __tablename__ = "district_setting"

    district_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    utilization_threshold: Mapped[float | None] = mapped_column(Float)
    evaluation_window_days: Mapped[int | None] = mapped_column(Integer)
    window_anchor: Mapped[dt.date | None]
    dormant_share_threshold: Mapped[float | None] = mapped_column(Float)
    retention_school_years: Mapped[int | None] = mapped_column(Integer)
    time_zone: Mapped[str | None] = mapped_column(String(64))
    time_zone_revision: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    """How many times the time zone changed: the `revision` of `district-time-zone-changed`."""
    """IANA name (`America/Los_Angeles`); null: UTC. Days, weeks, months and terms are the district's."""
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Integration(Base):
    """An LMS integration of a district: posts signed webhooks for one tool (or names tools per event)."""

    __tablename__ = "integration"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    district_id: Mapped[str] = mapped_column(String(64), index=True)
    name: Mapped[str] = mapped_column(String(200))
    tool_id: Mapped[str | None] = mapped_column(String(64))
    secret: Mapped[str] = mapped_column(String(200))
    previous_secret: Mapped[str | None] = mapped_column(String(200))
    previous_secret_expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    rotated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    vocabulary: Mapped[dict[str, str]] = mapped_column(JSONType, default=dict)
    """Overrides of the default vocabulary: verb IRI, Caliper `Type:Action` or Canvas event name -> kind."""


class WebhookDelivery(Base):
    """A webhook-id already applied (replays have no second effect)."""

    __tablename__ = "webhook_delivery"

    integration_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    webhook_id: Mapped[str] = mapped_column(ID, primary_key=True)
    district_id: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class UsageEvent(Base):
    """One normalized usage event, unique per district by its own id.

    On PostgreSQL the table is partitioned by month of `occurred_at` (retention drops old months)
    and has no index of its own: `usage_event_key` holds the ids. On SQLite its key is the index.
    """

    __tablename__ = "usage_event"

    district_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    event_id: Mapped[str] = mapped_column(ID, primary_key=True)
    integration_id: Mapped[uuid.UUID | None]
    tool_id: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[str] = mapped_column(ID)
    kind: Mapped[str] = mapped_column(String(32))
    occurred_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    class_id: Mapped[str | None] = mapped_column(ID)
    feature: Mapped[str | None] = mapped_column(String(200))
    duration_s: Mapped[float | None] = mapped_column(Float)
    source: Mapped[str] = mapped_column(String(16))
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class UsageEventKey(Base):
    """PostgreSQL: the ids of the stored events (a partitioned table cannot be unique by id alone)."""

    __tablename__ = "usage_event_key"

    district_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    event_id: Mapped[str] = mapped_column(ID, primary_key=True)
    occurred_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class UsagePending(Base):
    """An appended event waiting to be counted: what the counters need of it, and its shard.

    Written in the request's transaction with the event itself; the counting workers delete it in
    the transaction that adds it to the aggregates (see `services/analytics/counting`).
    """

    __tablename__ = "usage_pending"
    __table_args__ = (Index(None, "shard", "id"), Index(None, "district_id", "received_at"))

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    shard: Mapped[int] = mapped_column(SmallInteger)
    district_id: Mapped[str] = mapped_column(String(64))
    event_id: Mapped[str] = mapped_column(ID)
    day: Mapped[dt.date]
    tool_id: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[str] = mapped_column(ID)
    kind: Mapped[str] = mapped_column(String(32))
    feature: Mapped[str] = mapped_column(String(200))
    duration_s: Mapped[float] = mapped_column(Float)
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class CountingState(Base):
    """Per district: when a roster import asked for the counters to be regrouped, and when they were."""

    __tablename__ = "counting_state"

    district_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    regroup_requested_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    regrouped_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    rebuild_requested_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    """Events moved to another person (identity resolution): recount the district from them."""


class UsageDaily(Base):
    """Per-user rollup derived by the counting workers: events per district, day, tool, user, kind, feature.

    Dashboards read it for the partial weeks at a range's edges, a teacher's classes and pilots;
    whole periods come from `usage_count`.
    """

    __tablename__ = "usage_daily"
    __table_args__ = (Index(None, "district_id", "kind", "day"), Index(None, "district_id", "user_id"))

    district_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    day: Mapped[dt.date] = mapped_column(primary_key=True)
    tool_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(ID, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), primary_key=True)
    feature: Mapped[str] = mapped_column(String(200), primary_key=True)
    week: Mapped[dt.date]
    month: Mapped[dt.date]
    events: Mapped[int] = mapped_column(Integer)
    duration_s: Mapped[float] = mapped_column(Float)


class UsagePresence(Base):
    """Days (bit d-1 of a month mask) a user used a tool: distinct active users over any date range."""

    __tablename__ = "usage_presence"
    __table_args__ = (Index(None, "district_id", "user_id"),)

    district_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    month: Mapped[dt.date] = mapped_column(primary_key=True)
    tool_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(ID, primary_key=True)
    days: Mapped[int] = mapped_column(Integer)


class UsageSeen(Base):
    """A user first seen in a week or month for a tool ('' = any tool) and a login or feature.

    Inserted ON CONFLICT DO NOTHING at ingestion: only newly inserted rows add distinct users to the
    group counts. `feature` is '' for logins (any feature), the feature for `feature_used`.
    """

    __tablename__ = "usage_seen"

    district_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    period: Mapped[str] = mapped_column(String(8), primary_key=True)
    period_start: Mapped[dt.date] = mapped_column(primary_key=True)
    tool_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), primary_key=True)
    feature: Mapped[str] = mapped_column(String(200), primary_key=True)
    user_id: Mapped[str] = mapped_column(ID, primary_key=True)


class UsageCount(Base):
    """Pre-aggregated counters per week or month, tool ('' = all), school ('' = all) and group.

    `dim` is grade, subject (user groups; `unassigned` when the roster says nothing), all, or feature
    (value = the feature, for `feature_used`). `users` counts distinct users for logins (grade,
    subject, all) and feature use (feature); it stays 0 for other kinds.
    """

    __tablename__ = "usage_count"

    district_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    period: Mapped[str] = mapped_column(String(8), primary_key=True)
    tool_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    school_id: Mapped[str] = mapped_column(ID, primary_key=True)
    dim: Mapped[str] = mapped_column(String(16), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), primary_key=True)
    period_start: Mapped[dt.date] = mapped_column(primary_key=True)
    value: Mapped[str] = mapped_column(String(200), primary_key=True)
    events: Mapped[int] = mapped_column(Integer)
    users: Mapped[int] = mapped_column(Integer)


class RosterOrg(Base):
    """A OneRoster org (district, school)."""

    __tablename__ = "roster_org"

    district_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    sourced_id: Mapped[str] = mapped_column(ID, primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    type: Mapped[str] = mapped_column(String(40))
    parent_id: Mapped[str | None] = mapped_column(ID)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class RosterClass(Base):
    """A OneRoster class with its school, grades and subjects."""

    __tablename__ = "roster_class"

    district_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    sourced_id: Mapped[str] = mapped_column(ID, primary_key=True)
    title: Mapped[str] = mapped_column(String(300))
    school_id: Mapped[str] = mapped_column(ID)
    course_id: Mapped[str | None] = mapped_column(ID)
    grades: Mapped[list[str]] = mapped_column(JSONType, default=list)
    subjects: Mapped[list[str]] = mapped_column(JSONType, default=list)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class RosterUser(Base):
    """A OneRoster user: role, school and grade levels."""

    __tablename__ = "roster_user"
    __table_args__ = (Index(None, "district_id", "role"),)

    district_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    sourced_id: Mapped[str] = mapped_column(ID, primary_key=True)
    role: Mapped[str] = mapped_column(String(40))
    school_id: Mapped[str | None] = mapped_column(ID)
    org_ids: Mapped[list[str]] = mapped_column(JSONType, default=list)
    grades: Mapped[list[str]] = mapped_column(JSONType, default=list)
    given_name: Mapped[str | None] = mapped_column(String(200))
    family_name: Mapped[str | None] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(300))
    identifier: Mapped[str | None] = mapped_column(ID)
    """The SIS id (OneRoster `identifier`)."""
    username: Mapped[str | None] = mapped_column(ID)
    user_ids: Mapped[list[str]] = mapped_column(JSONType, default=list)
    """OneRoster `userIds` as `type:value` strings (`{Canvas:1234}` -> `Canvas:1234`)."""
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class RosterEnrollment(Base):
    """A OneRoster enrollment of a user in a class."""

    __tablename__ = "roster_enrollment"
    __table_args__ = (Index(None, "district_id", "class_id"), Index(None, "district_id", "user_id"))

    district_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    sourced_id: Mapped[str] = mapped_column(ID, primary_key=True)
    class_id: Mapped[str] = mapped_column(ID)
    user_id: Mapped[str] = mapped_column(ID)
    role: Mapped[str] = mapped_column(String(40))
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class RosterUserAttribute(Base):
    """Derived after each import: one row per user and grade level / subject / school, for grouping."""

    __tablename__ = "roster_user_attribute"
    __table_args__ = (Index(None, "district_id", "kind", "value"),)

    district_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(ID, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    value: Mapped[str] = mapped_column(String(200), primary_key=True)


class RosterUserGroup(Base):
    """Derived after each import: the counter groups of a user (school '' = all; dim grade/subject/all)."""

    __tablename__ = "roster_user_group"

    district_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(ID, primary_key=True)
    school_id: Mapped[str] = mapped_column(ID, primary_key=True)
    dim: Mapped[str] = mapped_column(String(16), primary_key=True)
    value: Mapped[str] = mapped_column(String(200), primary_key=True)
    group_set: Mapped[str] = mapped_column(String(40))
    """Key of the user's whole set of groups: recounts aggregate users with the same set first."""


class ToolInfo(Base):
    """A catalog tool's name and lifecycle status, kept from catalog events."""

    __tablename__ = "tool_info"

    district_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    tool_id: Mapped[str] = mapped_column(String(64), primary_key=True, index=True)  # whose is it
    name: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(32))
    adopted_on: Mapped[dt.date | None]
    """The day it first became `adopted` (its `tool-status-changed` time): utilization is judged only
    over whole windows from then on."""
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class License(Base):
    """Seats a district bought for a tool (entered through the API)."""

    __tablename__ = "license"

    district_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    tool_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    license_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    seats_purchased: Mapped[int] = mapped_column(Integer)
    cost_per_seat: Mapped[float] = mapped_column(Float, default=0.0)
    teacher_seats: Mapped[int | None] = mapped_column(Integer)
    starts_on: Mapped[dt.date | None]
    ends_on: Mapped[dt.date | None]
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class SubmissionBaseline(Base):
    """The paper-based submission rate a district measured, per subject (`all` for every subject)."""

    __tablename__ = "submission_baseline"

    district_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    subject: Mapped[str] = mapped_column(String(200), primary_key=True)
    rate: Mapped[float] = mapped_column(Float)
    note: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class TamResponse(Base):
    """One teacher's answer to the district's TAM survey about a tool (pilots' instrument and scale, from
    `tam-answered`): how many item answers, how many positive, and the buy-in target then in force."""

    __tablename__ = "tam_response"
    __table_args__ = (
        Index(None, "district_id", "tool_id", "responded_at"),
        UniqueConstraint("district_id", "pilot_id", "respondent_id", "phase"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    district_id: Mapped[str] = mapped_column(String(64))
    tool_id: Mapped[str] = mapped_column(String(64))
    respondent_id: Mapped[str] = mapped_column(ID)
    pilot_id: Mapped[uuid.UUID | None]
    phase: Mapped[str | None] = mapped_column(String(16))
    answers: Mapped[int] = mapped_column(Integer)
    positive: Mapped[int] = mapped_column(Integer)
    buy_in_target: Mapped[float | None] = mapped_column(Float)
    responded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class PilotCohort(Base):
    """A pilot's teachers, tool and dates, from `pilot-started`."""

    __tablename__ = "pilot_cohort"

    district_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    pilot_id: Mapped[uuid.UUID] = mapped_column(primary_key=True, index=True)
    tool_id: Mapped[str] = mapped_column(String(64))
    teacher_ids: Mapped[list[str]] = mapped_column(JSONType, default=list)
    classes: Mapped[list[str]] = mapped_column(JSONType, default=list)
    school_id: Mapped[str | None] = mapped_column(ID)
    start_date: Mapped[dt.date]
    end_date: Mapped[dt.date]
    decision: Mapped[str | None] = mapped_column(String(16))


class ErrorDaily(Base):
    """Technical errors (from `error-logged`) per tool, day and severity."""

    __tablename__ = "error_daily"

    district_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    tool_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    day: Mapped[dt.date] = mapped_column(primary_key=True)
    severity: Mapped[str] = mapped_column(String(16), primary_key=True)
    week: Mapped[dt.date]
    month: Mapped[dt.date]
    errors: Mapped[int] = mapped_column(Integer)


class SignalEmission(Base):
    """A signal already published for a tool and window (so each is published once)."""

    __tablename__ = "signal_emission"

    district_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    tool_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    signal: Mapped[str] = mapped_column(String(40), primary_key=True)
    window_start: Mapped[dt.date] = mapped_column(primary_key=True)
    window_end: Mapped[dt.date]
    value: Mapped[float] = mapped_column(Float)
    event_id: Mapped[str] = mapped_column(String(64))
    emitted_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


__all__ = [
    "Base",
    "CountingState",
    "DistrictSetting",
    "ErrorDaily",
    "Integration",
    "License",
    "PilotCohort",
    "RosterClass",
    "RosterEnrollment",
    "RosterOrg",
    "RosterUser",
    "RosterUserAttribute",
    "RosterUserGroup",
    "SignalEmission",
    "SubmissionBaseline",
    "TamResponse",
    "ToolInfo",
    "UsageCount",
    "UsageDaily",
    "UsageEvent",
    "UsageEventKey",
    "UsagePending",
    "UsagePresence",
    "UsageSeen",
    "WebhookDelivery",
]


class RosterIdentity(Base):
    """Derived after each import: every identifier an LMS may use for a rostered person.

    `key` is `kind:value` (kinds in `services.analytics.identity`); a key two people share is
    ambiguous and left out.
    """

    __tablename__ = "roster_identity"
    __table_args__ = (Index(None, "district_id", "user_id"),)

    district_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    key: Mapped[str] = mapped_column(String(320), primary_key=True)
    user_id: Mapped[str] = mapped_column(ID)


class UnmatchedActor(Base):
    """An actor of an integration's events that no rostered person matched (yet)."""

    __tablename__ = "unmatched_actor"

    district_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    integration_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    actor_key: Mapped[str] = mapped_column(ID, primary_key=True)
    """What the events are stored under until a roster import matches the actor."""
    identifiers: Mapped[list[str]] = mapped_column(JSONType, default=list)
    """Every `kind:value` key the actor was seen with, tried against the roster in order."""
    events: Mapped[int] = mapped_column(BigInteger, default=0)
    first_seen: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    last_seen: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class UnrecognizedActivity(Base):
    """A verb, Caliper action or Canvas event name an integration sent that no vocabulary knows."""

    __tablename__ = "unrecognized_activity"

    integration_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    district_id: Mapped[str] = mapped_column(String(64))
    events: Mapped[int] = mapped_column(BigInteger, default=0)
    last_seen: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class RosterAcademicSession(Base):
    """A OneRoster academic session (school year, semester, term, grading period).

    `end_date` is exclusive, as the OneRoster CSV bindings define `endDate`.
    """

    __tablename__ = "roster_academic_session"
    __table_args__ = (Index(None, "district_id", "type", "start_date"),)

    district_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    sourced_id: Mapped[str] = mapped_column(ID, primary_key=True)
    title: Mapped[str] = mapped_column(String(300))
    type: Mapped[str] = mapped_column(String(40))
    start_date: Mapped[dt.date]
    end_date: Mapped[dt.date]
    parent_id: Mapped[str | None] = mapped_column(ID)
    school_year: Mapped[int | None] = mapped_column(Integer)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class RosterClassTerm(Base):
    """A class's OneRoster `termSourcedIds`: the academic sessions in which it is taught."""

    __tablename__ = "roster_class_term"
    __table_args__ = (Index(None, "district_id", "term_id"),)

    district_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    class_id: Mapped[str] = mapped_column(ID, primary_key=True)
    term_id: Mapped[str] = mapped_column(ID, primary_key=True)


class RosterImportJob(Base):
    """A roster upload being imported in the background: its state, progress and first errors."""

    __tablename__ = "roster_import_job"
    __table_args__ = (Index(None, "state", "created_at"), Index(None, "district_id", "created_at"))

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    district_id: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16))
    """queued, running, succeeded or failed."""
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    """Claims so far (a replica that died while running it leaves it to be claimed again)."""
    upload: Mapped[dict[str, Any]] = mapped_column(JSONType)
    """The parts stored, where each OneRoster file is in them, and the manifest read at upload."""
    progress: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    """Rows read, accepted and rejected per file; the first errors and the count of all, per field."""
    result: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    failure: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class RosterImportChunk(Base):
    """A piece of an upload's part (a zip or a CSV), kept in the database until its job is done."""

    __tablename__ = "roster_import_chunk"

    job_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("roster_import_job.id", ondelete="CASCADE"), primary_key=True
    )
    part: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)
