"""Request and response bodies for district settings."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class DistrictSettingsUpdate(BaseModel):
    """Values to set for the caller's district; `null` resets a value to the service default."""

    model_config = ConfigDict(extra="forbid")

    cost_limit_per_student: float | None = Field(default=None, ge=0, le=100_000)
    retirement_notice_days: int | None = Field(default=None, ge=0, le=365)
    fatigue_limit: int | None = Field(default=None, ge=1, le=100)
    renewal_window_days: int | None = Field(default=None, ge=1, le=730)


class DistrictSettingsRead(BaseModel):
    """The values in force for a district and which of them the district set itself."""

    cost_limit_per_student: float = Field(description="USD per student per year, supplemental tools.")
    retirement_notice_days: int
    fatigue_limit: int = Field(description="New tools per school or grade team per semester.")
    renewal_window_days: int
    time_zone: str = Field(
        default="UTC",
        description="The district's IANA time zone, in which the catalog writes its dates (a retirement "
        "notice's day). Analytics owns it (`PUT /api/analytics/settings`); the catalog keeps a copy from "
        "`district-time-zone-changed`, so it is not set here.",
    )
    overridden: list[str] = Field(description="Fields the district set (the rest are defaults).")
