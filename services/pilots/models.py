"""Pilots models: every table of the `pilots` schema, each row carrying its district."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import Boolean, Date, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from services.pilots.db import Base
from shared.db import JSONType, UTCDateTime, new_id, utcnow

__all__ = [
    "Base",
    "CoachingCycle",
    "CoachingStep",
    "DistrictSetting",
    "ErrorLog",
    "Instrument",
    "InstrumentItem",
    "Observation",
    "ObservationSlot",
    "Pilot",
    "PilotTeacher",
    "PilotTransition",
    "SurveyResponse",
    "TimeOnTaskFall",
    "Tool",
]


class DistrictSetting(Base):
    """A district's overrides of the pilot defaults; a null column means the service default."""

    __tablename__ = "district_setting"

    district_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    min_teachers: Mapped[int | None] = mapped_column(Integer)
    default_weeks: Mapped[int | None] = mapped_column(Integer)
    min_weeks: Mapped[int | None] = mapped_column(Integer)
    max_weeks: Mapped[int | None] = mapped_column(Integer)
    observations_per_week: Mapped[int | None] = mapped_column(Integer)
    interval_minutes: Mapped[int | None] = mapped_column(Integer)
    time_on_task_drop: Mapped[float | None] = mapped_column(Float)
    error_pattern_days: Mapped[int | None] = mapped_column(Integer)
    error_pattern_window_days: Mapped[int | None] = mapped_column(Integer)
    tam_positive_threshold: Mapped[int | None] = mapped_column(Integer)
    buy_in_target: Mapped[float | None] = mapped_column(Float)
    early_adopters: Mapped[int | None] = mapped_column(Integer)
    coaching_cycle_weeks: Mapped[int | None] = mapped_column(Integer)
    time_zone: Mapped[str | None] = mapped_column(String(64))
    """A copy of analytics' (its owner's), from `district-time-zone-changed`; null: UTC."""
    time_zone_revision: Mapped[int | None] = mapped_column(Integer)
    """The `revision` of the change kept (a lower one arriving late changes nothing)."""
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Tool(Base):
    """Pilots' own copy of a catalog tool's status, kept from catalog events."""

    __tablename__ = "tool"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    district_id: Mapped[str] = mapped_column(String(64), index=True)
    name: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(32))
    status_reason: Mapped[str | None] = mapped_column(Text)  # the catalog's why, named in refusals
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)  # when that status held


class Pilot(Base):
    """A classroom pilot of one tool with volunteer teachers, goals, dates and classes."""

    __tablename__ = "pilot"
    __table_args__ = (Index(None, "district_id", "status"), Index(None, "district_id", "tool_id"))

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    district_id: Mapped[str] = mapped_column(String(64), index=True)
    tool_id: Mapped[uuid.UUID] = mapped_column(index=True)
    title: Mapped[str] = mapped_column(String(200))
    goals: Mapped[list[str]] = mapped_column(JSONType, default=list)
    classes: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    school_id: Mapped[str | None] = mapped_column(String(64))
    start_date: Mapped[dt.date] = mapped_column(Date)
    weeks: Mapped[int] = mapped_column(Integer)
    end_date: Mapped[dt.date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(32), default="planned")
    decision: Mapped[str | None] = mapped_column(String(16))
    rationale: Mapped[str | None] = mapped_column(Text)
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    decided_by: Mapped[str | None] = mapped_column(String(200))
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class PilotTeacher(Base):
    """A volunteer teacher of a pilot (the teacher id is the IdP subject)."""

    __tablename__ = "pilot_teacher"

    pilot_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("pilot.id", ondelete="CASCADE"), primary_key=True)
    teacher_id: Mapped[str] = mapped_column(String(200), primary_key=True, index=True)
    district_id: Mapped[str] = mapped_column(String(64))
    position: Mapped[int] = mapped_column(Integer, default=0)


class PilotTransition(Base):
    """One move of a pilot in its lifecycle: who, when, why (and the decision, if one was taken)."""

    __tablename__ = "pilot_transition"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    pilot_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("pilot.id", ondelete="CASCADE"), index=True)
    district_id: Mapped[str] = mapped_column(String(64))
    from_status: Mapped[str | None] = mapped_column(String(32))
    to_status: Mapped[str] = mapped_column(String(32))
    decision: Mapped[str | None] = mapped_column(String(16))
    actor: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str | None] = mapped_column(Text)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class ObservationSlot(Base):
    """A planned classroom observation of one teacher; done once an observation fills it."""

    __tablename__ = "observation_slot"
    __table_args__ = (Index(None, "pilot_id", "teacher_id", "scheduled_on"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    district_id: Mapped[str] = mapped_column(String(64))
    pilot_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("pilot.id", ondelete="CASCADE"), index=True)
    teacher_id: Mapped[str] = mapped_column(String(200))
    week: Mapped[int] = mapped_column(Integer)
    scheduled_on: Mapped[dt.date] = mapped_column(Date)
    observation_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("observation.id", ondelete="SET NULL"), unique=True
    )


class Observation(Base):
    """A classroom observation: time-on-task intervals, SAMR level, PICRAT cell and notes."""

    __tablename__ = "observation"
    __table_args__ = (Index(None, "pilot_id", "teacher_id", "observed_on"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    district_id: Mapped[str] = mapped_column(String(64))
    pilot_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("pilot.id", ondelete="CASCADE"), index=True)
    teacher_id: Mapped[str] = mapped_column(String(200))
    observer: Mapped[str] = mapped_column(String(200))
    observed_on: Mapped[dt.date] = mapped_column(Date)
    week: Mapped[int] = mapped_column(Integer)
    class_period: Mapped[str | None] = mapped_column(String(50))
    interval_minutes: Mapped[int] = mapped_column(Integer)
    intervals: Mapped[list[dict[str, int]]] = mapped_column(JSONType, default=list)
    on_task_total: Mapped[int] = mapped_column(Integer)
    present_total: Mapped[int] = mapped_column(Integer)
    samr_level: Mapped[str | None] = mapped_column(String(20))
    picrat_student: Mapped[str | None] = mapped_column(String(20))
    picrat_teacher: Mapped[str | None] = mapped_column(String(20))
    notes: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class TimeOnTaskFall(Base):
    """A week in which a pilot teacher's time-on-task fell below their first observed week (published
    once as `time-on-task-fell`)."""

    __tablename__ = "time_on_task_fall"
    __table_args__ = (UniqueConstraint("pilot_id", "teacher_id", "week"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    district_id: Mapped[str] = mapped_column(String(64))
    pilot_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("pilot.id", ondelete="CASCADE"), index=True)
    teacher_id: Mapped[str] = mapped_column(String(200))
    week: Mapped[int] = mapped_column(Integer)
    baseline_week: Mapped[int] = mapped_column(Integer)
    baseline: Mapped[float] = mapped_column(Float)
    observed: Mapped[float] = mapped_column(Float)
    detected_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class Instrument(Base):
    """A survey instrument of a district (TTIS, TAM, ...): its scale and the phases it is given in."""

    __tablename__ = "instrument"
    __table_args__ = (UniqueConstraint("district_id", "code"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    district_id: Mapped[str] = mapped_column(String(64))
    code: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    scale_min: Mapped[int] = mapped_column(Integer)
    scale_max: Mapped[int] = mapped_column(Integer)
    scale_labels: Mapped[dict[str, str]] = mapped_column(JSONType, default=dict)
    phases: Mapped[list[str]] = mapped_column(JSONType, default=list)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class InstrumentItem(Base):
    """One item of an instrument, in a dimension (e.g. TAM's perceived usefulness)."""

    __tablename__ = "instrument_item"
    __table_args__ = (UniqueConstraint("instrument_id", "code"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    instrument_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("instrument.id", ondelete="CASCADE"), index=True
    )
    code: Mapped[str] = mapped_column(String(32))
    dimension: Mapped[str] = mapped_column(String(64))
    text: Mapped[str] = mapped_column(Text)
    position: Mapped[int] = mapped_column(Integer)
    reverse_scored: Mapped[bool] = mapped_column(Boolean, default=False)


class SurveyResponse(Base):
    """One teacher's answers to one instrument in one phase of a pilot, with its scores."""

    __tablename__ = "survey_response"
    __table_args__ = (UniqueConstraint("pilot_id", "instrument_id", "teacher_id", "phase"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    district_id: Mapped[str] = mapped_column(String(64))
    pilot_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("pilot.id", ondelete="CASCADE"), index=True)
    instrument_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("instrument.id", ondelete="CASCADE"))
    teacher_id: Mapped[str] = mapped_column(String(200))
    phase: Mapped[str] = mapped_column(String(16))
    answers: Mapped[dict[str, int]] = mapped_column(JSONType)
    score: Mapped[float] = mapped_column(Float)
    dimension_scores: Mapped[dict[str, float]] = mapped_column(JSONType, default=dict)
    submitted_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class ErrorLog(Base):
    """A technical failure seen while a tool was in use: in a pilot, or in classrooms after it."""

    __tablename__ = "error_log"
    __table_args__ = (Index(None, "district_id", "tool_id", "class_period", "occurred_at"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    district_id: Mapped[str] = mapped_column(String(64))
    pilot_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("pilot.id", ondelete="CASCADE"), index=True)
    tool_id: Mapped[uuid.UUID] = mapped_column()
    teacher_id: Mapped[str | None] = mapped_column(String(200))
    what_failed: Mapped[str] = mapped_column(Text)
    category: Mapped[str | None] = mapped_column(String(64))
    occurred_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    class_period: Mapped[str | None] = mapped_column(String(50))
    device: Mapped[str | None] = mapped_column(String(100))
    platform: Mapped[str | None] = mapped_column(String(100))
    severity: Mapped[str] = mapped_column(String(16))
    reported_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class CoachingCycle(Base):
    """A coaching cycle (four weeks by default) of one pilot teacher."""

    __tablename__ = "coaching_cycle"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    district_id: Mapped[str] = mapped_column(String(64))
    pilot_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("pilot.id", ondelete="CASCADE"), index=True)
    teacher_id: Mapped[str] = mapped_column(String(200))
    coach: Mapped[str] = mapped_column(String(200))
    start_date: Mapped[dt.date] = mapped_column(Date)
    weeks: Mapped[int] = mapped_column(Integer)
    focus: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class CoachingStep(Base):
    """One of a cycle's four steps with its planned date, the date it happened, and notes."""

    __tablename__ = "coaching_step"
    __table_args__ = (UniqueConstraint("cycle_id", "step"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    cycle_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("coaching_cycle.id", ondelete="CASCADE"), index=True
    )
    step: Mapped[str] = mapped_column(String(40))
    position: Mapped[int] = mapped_column(Integer)
    planned_on: Mapped[dt.date] = mapped_column(Date)
    held_on: Mapped[dt.date | None] = mapped_column(Date)
    notes: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
