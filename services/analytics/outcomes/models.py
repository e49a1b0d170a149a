"""Tables of outcome evidence: achievement results a district uploads, and the analyses run on them.

Student-level results never leave the analytics service: no event, no report carries them.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import Float, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from services.analytics.db import Base
from services.analytics.models import ID
from shared.db import JSONType, UTCDateTime, new_id, utcnow


class AchievementResult(Base):
    """One student's score on one assessment on one day (a re-upload replaces it)."""

    __tablename__ = "achievement_result"
    __table_args__ = (Index(None, "district_id", "assessment", "administered_on"),)

    district_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    student_id: Mapped[str] = mapped_column(ID, primary_key=True)
    """The rostered person (sourcedId), matched from whatever identifier the upload used."""
    assessment: Mapped[str] = mapped_column(String(200), primary_key=True)
    administered_on: Mapped[dt.date] = mapped_column(primary_key=True)
    subject: Mapped[str | None] = mapped_column(String(100))
    score: Mapped[float] = mapped_column(Float)
    scale: Mapped[str | None] = mapped_column(String(100))
    prior_score: Mapped[float | None] = mapped_column(Float)
    """A prior-year or pre-test score the district gave with the result."""
    source: Mapped[str] = mapped_column(String(16))
    uploaded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class OutcomeAnalysis(Base):
    """An analysis of one tool's (or one pilot's) use against one assessment, as it was run."""

    __tablename__ = "outcome_analysis"
    __table_args__ = (Index(None, "district_id", "tool_id"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    district_id: Mapped[str] = mapped_column(String(64))
    tool_id: Mapped[str] = mapped_column(String(64))
    pilot_id: Mapped[uuid.UUID | None]
    assessment: Mapped[str] = mapped_column(String(200))
    window_start: Mapped[dt.date]
    window_end: Mapped[dt.date]
    request: Mapped[dict[str, Any]] = mapped_column(JSONType)
    """The design asked for: dosage measure, threshold, comparison."""
    result: Mapped[dict[str, Any]] = mapped_column(JSONType)
    """What was found: groups, estimate, baseline, power, tier (no student-level data)."""
    created_by: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    evidence_attached_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
