"""Schemas of what a district enters (settings, paper baselines) and of the licenses it knows."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator

from shared.time_zones import is_time_zone
from shared.validation import Day, Int32

Seats = Annotated[Int32, Field(ge=0)]


class DistrictSettingsUpdate(BaseModel):
    """Overrides of the analytics defaults; null puts a field back to the service default."""

    model_config = ConfigDict(extra="forbid")

    utilization_threshold: float | None = Field(default=None, ge=0, le=1)
    evaluation_window_days: int | None = Field(default=None, ge=7, le=730)
    window_anchor: Day | None = None
    dormant_share_threshold: float | None = Field(default=None, ge=0, le=1)
    retention_school_years: int | None = Field(
        default=None, ge=1, le=20, description="School years of usage kept, this one included."
    )
    time_zone: str | None = Field(
        default=None,
        max_length=64,
        examples=["America/Los_Angeles"],
        description="The district's IANA time zone: its days, weeks, months and terms (null: UTC).",
    )

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        if value is not None and not is_time_zone(value):
            raise ValueError(f"{value!r} is not an IANA time zone (like America/Los_Angeles)")
        return value


class DistrictSettingsRead(BaseModel):
    """The settings in force for the district (its overrides over the defaults)."""

    utilization_threshold: float
    evaluation_window_days: int
    window_anchor: dt.date
    dormant_share_threshold: float
    retention_school_years: int
    time_zone: str = Field(default="UTC", description="Days, weeks, months and terms are cut in it.")
    school_year_start_month: int = Field(
        default=7, description="The month school years (and their quarters) start (ANALYTICS_*)."
    )


class LicenseRead(BaseModel):
    """A tool's current license as analytics knows it from the catalog's `license-recorded`."""

    model_config = ConfigDict(from_attributes=True)

    seats_purchased: int
    cost_per_seat: float
    teacher_seats: int | None
    starts_on: dt.date | None
    ends_on: dt.date | None
    license_id: uuid.UUID | None
    tool_id: str
    updated_at: dt.datetime


class BaselineUpdate(BaseModel):
    """The share of paper assignments handed in, measured before going digital."""

    model_config = ConfigDict(extra="forbid")

    rate: float = Field(ge=0, le=1, examples=[0.72])
    note: str | None = Field(default=None, max_length=2000)


class BaselineRead(BaselineUpdate):
    """A paper-based submission baseline for a subject (`all`: every subject)."""

    model_config = ConfigDict(from_attributes=True)

    subject: str
    updated_at: dt.datetime
