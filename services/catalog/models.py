"""Catalog models."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from services.catalog.db import Base
from shared.db import JSONType, UTCDateTime, new_id, utcnow


class Tool(Base):
    """A piece of software a district considers, pilots, adopts or retires."""

    __tablename__ = "tool"
    __table_args__ = (Index(None, "district_id", "status"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    district_id: Mapped[str] = mapped_column(String(64), index=True)
    name: Mapped[str] = mapped_column(String(200))
    vendor: Mapped[str | None] = mapped_column(String(200))
    category: Mapped[str | None] = mapped_column(String(100))
    description: Mapped[str | None] = mapped_column(Text)
    url: Mapped[str | None] = mapped_column(String(500))
    subjects: Mapped[list[str]] = mapped_column(JSONType, default=list)
    grade_bands: Mapped[list[str]] = mapped_column(JSONType, default=list)
    status: Mapped[str] = mapped_column(String(32), default="proposed")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    transitions: Mapped[list[ToolTransition]] = relationship(
        back_populates="tool", order_by="ToolTransition.at", cascade="all, delete-orphan"
    )


class ToolTransition(Base):
    """One move of a tool in its lifecycle: who, when, why."""

    __tablename__ = "tool_transition"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    tool_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tool.id", ondelete="CASCADE"), index=True)
    from_status: Mapped[str | None] = mapped_column(String(32))
    to_status: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str | None] = mapped_column(Text)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    tool: Mapped[Tool] = relationship(back_populates="transitions")
