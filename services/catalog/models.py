"""Catalog models: every row carries its district."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from services.catalog.db import Base
from shared.db import JSONType, UTCDateTime, new_id, utcnow

Money = Numeric(12, 2)


class Vendor(Base):
    """A company that sells tools to the district."""

    __tablename__ = "vendor"
    __table_args__ = (UniqueConstraint("district_id", "name"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    district_id: Mapped[str] = mapped_column(String(64), index=True)
    name: Mapped[str] = mapped_column(String(200))
    website: Mapped[str | None] = mapped_column(String(500))
    contact_email: Mapped[str | None] = mapped_column(String(320))
    privacy_policy_url: Mapped[str | None] = mapped_column(String(500))
    dpa_signed: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class VendorMember(Base):
    """A person a district invited to act for one of its vendors (role `vendor`: its own tools only)."""

    __tablename__ = "vendor_member"
    __table_args__ = (UniqueConstraint("district_id", "subject"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    district_id: Mapped[str] = mapped_column(String(64))
    vendor_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("vendor.id", ondelete="CASCADE"), index=True)
    subject: Mapped[str] = mapped_column(String(200))
    invited_by: Mapped[str] = mapped_column(String(200))
    invited_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class ToolDocument(Base):
    """A document about a tool (privacy policy, signed agreement, evidence, VPAT) its vendor or staff
    uploaded, for the reviewers of its checklist."""

    __tablename__ = "tool_document"
    __table_args__ = (Index(None, "district_id", "tool_id"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    district_id: Mapped[str] = mapped_column(String(64))
    tool_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tool.id", ondelete="CASCADE"))
    vendor_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("vendor.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(32))
    title: Mapped[str] = mapped_column(String(200))
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    content: Mapped[bytes] = mapped_column(LargeBinary)
    uploaded_by: Mapped[str] = mapped_column(String(200))
    uploaded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class Tool(Base):
    """A piece of software a district considers, pilots, adopts or retires."""

    __tablename__ = "tool"
    __table_args__ = (Index(None, "district_id", "status"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    district_id: Mapped[str] = mapped_column(String(64), index=True)
    name: Mapped[str] = mapped_column(String(200))
    vendor: Mapped[str | None] = mapped_column(String(200))
    vendor_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("vendor.id", ondelete="SET NULL"), index=True
    )
    category: Mapped[str | None] = mapped_column(String(100))
    description: Mapped[str | None] = mapped_column(Text)
    url: Mapped[str | None] = mapped_column(String(500))
    subjects: Mapped[list[str]] = mapped_column(JSONType, default=list)
    grade_bands: Mapped[list[str]] = mapped_column(JSONType, default=list)
    platforms: Mapped[list[str]] = mapped_column(JSONType, default=list)
    smartphone_support: Mapped[bool] = mapped_column(Boolean, default=False)
    usage: Mapped[str] = mapped_column(String(16), default="supplemental")
    status: Mapped[str] = mapped_column(String(32), default="proposed")
    checklist_state: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    transitions: Mapped[list[ToolTransition]] = relationship(
        back_populates="tool", order_by="ToolTransition.at", cascade="all, delete-orphan"
    )


class ToolTransition(Base):
    """One move of a tool in its lifecycle: who, when, why."""

    __tablename__ = "tool_transition"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    district_id: Mapped[str] = mapped_column(String(64), index=True)
    tool_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tool.id", ondelete="CASCADE"), index=True)
    from_status: Mapped[str | None] = mapped_column(String(32))
    to_status: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str | None] = mapped_column(Text)
    override_reason: Mapped[str | None] = mapped_column(Text)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    tool: Mapped[Tool] = relationship(back_populates="transitions")


class StandardAlignment(Base):
    """A standard (CCSS, NGSS or a state's) a tool's content is mapped to."""

    __tablename__ = "standard_alignment"
    __table_args__ = (UniqueConstraint("tool_id", "framework", "code", "jurisdiction"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    district_id: Mapped[str] = mapped_column(String(64), index=True)
    tool_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tool.id", ondelete="CASCADE"), index=True)
    framework: Mapped[str] = mapped_column(String(16))
    code: Mapped[str] = mapped_column(String(100))
    jurisdiction: Mapped[str] = mapped_column(String(32), default="")
    description: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class ChecklistItem(Base):
    """One of the six vetting points of a tool, as last recorded."""

    __tablename__ = "checklist_item"
    __table_args__ = (UniqueConstraint("tool_id", "point"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    district_id: Mapped[str] = mapped_column(String(64), index=True)
    tool_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tool.id", ondelete="CASCADE"), index=True)
    point: Mapped[str] = mapped_column(String(16))
    result: Mapped[str] = mapped_column(String(16))
    evidence: Mapped[str | None] = mapped_column(Text)
    evidence_url: Mapped[str | None] = mapped_column(String(500))
    essa_tier: Mapped[int | None] = mapped_column(Integer)
    details: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    reviewer: Mapped[str] = mapped_column(String(200))
    reviewed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Rubric(Base):
    """A district's rubric: weighted criteria tied to learning objectives."""

    __tablename__ = "rubric"
    __table_args__ = (UniqueConstraint("district_id", "name"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    district_id: Mapped[str] = mapped_column(String(64), index=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    scale_max: Mapped[int] = mapped_column(Integer, default=4)
    criteria: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Evaluation(Base):
    """A tool scored against a rubric, with its PICRAT cell and SAMR level."""

    __tablename__ = "evaluation"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    district_id: Mapped[str] = mapped_column(String(64), index=True)
    tool_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tool.id", ondelete="CASCADE"), index=True)
    rubric_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("rubric.id", ondelete="CASCADE"), index=True)
    scores: Mapped[dict[str, float]] = mapped_column(JSONType, default=dict)
    weighted_total: Mapped[float]
    weighted_percent: Mapped[float]
    picrat_student: Mapped[str] = mapped_column(String(16))
    picrat_teacher: Mapped[str] = mapped_column(String(16))
    samr: Mapped[str] = mapped_column(String(16))
    notes: Mapped[str | None] = mapped_column(Text)
    evaluator: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class License(Base):
    """Seats of a tool the district bought: price, term, renewal and allocation per school."""

    __tablename__ = "license"
    __table_args__ = (Index(None, "district_id", "renewal_date"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    district_id: Mapped[str] = mapped_column(String(64), index=True)
    tool_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tool.id", ondelete="CASCADE"), index=True)
    seats: Mapped[int] = mapped_column(Integer)
    teacher_seats: Mapped[int | None] = mapped_column(Integer)
    students_covered: Mapped[int | None] = mapped_column(Integer)
    price_total: Mapped[Decimal] = mapped_column(Money)
    term_start: Mapped[dt.date] = mapped_column(Date)
    term_end: Mapped[dt.date] = mapped_column(Date)
    renewal_date: Mapped[dt.date | None] = mapped_column(Date)
    allocations: Mapped[dict[str, int]] = mapped_column(JSONType, default=dict)
    notes: Mapped[str | None] = mapped_column(Text)
    seats_used: Mapped[int | None] = mapped_column(Integer)
    """Seats used in the last window analytics measured (`license-seats-used`)."""
    seats_used_from: Mapped[dt.date | None] = mapped_column(Date)
    seats_used_to: Mapped[dt.date | None] = mapped_column(Date)
    teachers_active: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class ToolFlag(Base):
    """A signal that a tool needs review or is a removal candidate (from an event or by hand)."""

    __tablename__ = "tool_flag"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    district_id: Mapped[str] = mapped_column(String(64), index=True)
    tool_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tool.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    source: Mapped[str] = mapped_column(String(32))
    event_id: Mapped[str | None] = mapped_column(String(64))
    note: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    resolved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class ToolError(Base):
    """A technical failure reported for a tool (`error-logged`), feeding its reliability note."""

    __tablename__ = "tool_error"
    __table_args__ = (UniqueConstraint("district_id", "error_id"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    district_id: Mapped[str] = mapped_column(String(64), index=True)
    tool_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tool.id", ondelete="CASCADE"), index=True)
    error_id: Mapped[uuid.UUID]
    pilot_id: Mapped[uuid.UUID | None]
    severity: Mapped[str] = mapped_column(String(16))
    class_period: Mapped[str | None] = mapped_column(String(50))
    source: Mapped[str] = mapped_column(String(16))
    description: Mapped[str] = mapped_column(Text)
    occurred_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class Retirement(Base):
    """A scheduled retirement: notice end, teachers to notify and where student work is archived."""

    __tablename__ = "retirement"
    __table_args__ = (Index(None, "status", "notice_ends_at"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    district_id: Mapped[str] = mapped_column(String(64), index=True)
    tool_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tool.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(16), default="scheduled")
    notice_days: Mapped[int] = mapped_column(Integer)
    notice_starts_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    notice_ends_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    teacher_ids: Mapped[list[str]] = mapped_column(JSONType, default=list)
    archive_location: Mapped[str] = mapped_column(String(500))
    reason: Mapped[str | None] = mapped_column(Text)
    scheduled_by: Mapped[str] = mapped_column(String(200))
    retired_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    cancelled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    cancelled_by: Mapped[str | None] = mapped_column(String(200))
    cancel_reason: Mapped[str | None] = mapped_column(Text)


class RetirementNotice(Base):
    """A notice to one teacher about a retirement (or its cancellation), and its delivery by email."""

    __tablename__ = "retirement_notice"
    __table_args__ = (
        UniqueConstraint("retirement_id", "teacher_id", "kind"),
        Index(None, "district_id", "teacher_id"),
        Index(None, "status", "created_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    district_id: Mapped[str] = mapped_column(String(64))
    retirement_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("retirement.id", ondelete="CASCADE"), index=True
    )
    tool_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tool.id", ondelete="CASCADE"))
    teacher_id: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320))
    kind: Mapped[str] = mapped_column(String(16))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    sending_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    """When a job claimed it for sending (status `sending`), committed before it talks to SMTP."""
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class Rollout(Base):
    """Introducing a tool to one school or grade team in one semester (counted for tool fatigue)."""

    __tablename__ = "rollout"
    __table_args__ = (
        UniqueConstraint("district_id", "tool_id", "scope", "scope_id", "semester"),
        Index(None, "district_id", "scope", "scope_id", "semester"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    district_id: Mapped[str] = mapped_column(String(64), index=True)
    tool_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tool.id", ondelete="CASCADE"), index=True)
    scope: Mapped[str] = mapped_column(String(16))
    scope_id: Mapped[str] = mapped_column(String(100))
    semester: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="planned")
    override_reason: Mapped[str | None] = mapped_column(Text)
    checklist_override_reason: Mapped[str | None] = mapped_column(Text)
    checklist_override_by: Mapped[str | None] = mapped_column(String(200))
    checklist_override_points: Mapped[list[str]] = mapped_column(JSONType, default=list)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    approved_by: Mapped[str | None] = mapped_column(String(200))
    approved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class SchoolPilot(Base):
    """A pilot that began in one school (from `pilot-started`): a new tool for its teachers that semester,
    counted toward the school's tool-fatigue limit like an approved rollout."""

    __tablename__ = "school_pilot"
    __table_args__ = (
        UniqueConstraint("district_id", "pilot_id"),
        Index(None, "district_id", "school_id", "semester"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    district_id: Mapped[str] = mapped_column(String(64))
    pilot_id: Mapped[uuid.UUID]
    tool_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tool.id", ondelete="CASCADE"), index=True)
    school_id: Mapped[str] = mapped_column(String(100))
    semester: Mapped[str] = mapped_column(String(16))
    start_date: Mapped[dt.date] = mapped_column(Date)


class PilotDecision(Base):
    """A pilot's decision about a tool (from `pilot-completed`): a rollout needs an `adopt`."""

    __tablename__ = "pilot_decision"
    __table_args__ = (UniqueConstraint("district_id", "pilot_id", "decided_at"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    district_id: Mapped[str] = mapped_column(String(64), index=True)
    tool_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tool.id", ondelete="CASCADE"), index=True)
    pilot_id: Mapped[uuid.UUID]
    decision: Mapped[str] = mapped_column(String(16))
    rationale: Mapped[str | None] = mapped_column(Text)
    decided_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class ToolRequest(Base):
    """A teacher's request for a tool; the tool it created enters the lifecycle as `proposed`."""

    __tablename__ = "tool_request"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    district_id: Mapped[str] = mapped_column(String(64), index=True)
    tool_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tool.id", ondelete="CASCADE"), index=True)
    requested_by: Mapped[str] = mapped_column(String(200), index=True)
    justification: Mapped[str] = mapped_column(Text)
    school_id: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class DistrictSetting(Base):
    """A district's own values for the catalog's domain numbers (unset: the service defaults)."""

    __tablename__ = "district_setting"

    district_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    cost_limit_per_student: Mapped[Decimal | None] = mapped_column(Money)
    retirement_notice_days: Mapped[int | None] = mapped_column(Integer)
    fatigue_limit: Mapped[int | None] = mapped_column(Integer)
    renewal_window_days: Mapped[int | None] = mapped_column(Integer)
    time_zone: Mapped[str | None] = mapped_column(String(64))
    """A copy of analytics' (its owner's), from `district-time-zone-changed`; null: UTC."""
    time_zone_revision: Mapped[int | None] = mapped_column(Integer)
    """The `revision` of the change kept (a lower one arriving late changes nothing)."""
    updated_by: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
