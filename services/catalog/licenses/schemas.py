"""Request and response bodies for licenses."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from shared.validation import Day

SchoolId = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Seats = Annotated[int, Field(ge=0, le=10_000_000)]
MAX_PRICE = Decimal("9999999999.99")
"""The largest price the Numeric(12, 2) column holds."""


class LicenseCreate(BaseModel):
    """Seats bought for a tool; `students_covered` defaults to one student per seat."""

    model_config = ConfigDict(extra="forbid")

    seats: int = Field(ge=1, le=10_000_000)
    teacher_seats: int | None = Field(
        default=None, ge=0, le=10_000_000, description="Teachers licensed (teacher utilization's base)."
    )
    students_covered: int | None = Field(default=None, ge=1, le=10_000_000)
    price_total: Decimal = Field(
        ge=0, le=MAX_PRICE, max_digits=12, decimal_places=2, description="USD for the whole term."
    )
    term_start: Day
    term_end: Day
    renewal_date: Day | None = None
    allocations: dict[SchoolId, Seats] = Field(
        default_factory=dict, description="Seats per school id; their sum cannot exceed `seats`."
    )
    notes: str | None = Field(default=None, max_length=5000)


class LicenseUpdate(BaseModel):
    """Fields to change on a license."""

    model_config = ConfigDict(extra="forbid")

    seats: int | None = Field(default=None, ge=1, le=10_000_000)
    teacher_seats: int | None = Field(default=None, ge=0, le=10_000_000)
    students_covered: int | None = Field(default=None, ge=1, le=10_000_000)
    price_total: Decimal | None = Field(default=None, ge=0, le=MAX_PRICE, max_digits=12, decimal_places=2)
    term_start: Day | None = None
    term_end: Day | None = None
    renewal_date: Day | None = None
    allocations: dict[SchoolId, Seats] | None = None
    notes: str | None = Field(default=None, max_length=5000)


class SeatsUsed(BaseModel):
    """What analytics counted of a license's use in a window (it owns the usage; the catalog the license)."""

    window_start: dt.date
    window_end: dt.date
    seats: int
    share: float = Field(description="Seats used / seats bought.")
    teachers_active: int | None


class LicenseRead(BaseModel):
    """A license with its computed costs."""

    id: uuid.UUID
    tool_id: uuid.UUID
    tool_name: str | None = None
    seats: int
    teacher_seats: int | None = None
    students_covered: int | None
    price_total: float
    term_start: dt.date
    term_end: dt.date
    renewal_date: dt.date | None
    allocations: dict[str, int]
    allocated_seats: int
    notes: str | None
    cost_per_seat: float
    cost_per_student: float
    cost_per_student_per_year: float
    days_to_renewal: int | None = None
    seats_used: SeatsUsed | None = Field(
        default=None, description="Seats used in the last window analytics measured; null until it has."
    )
    created_at: dt.datetime
    updated_at: dt.datetime
