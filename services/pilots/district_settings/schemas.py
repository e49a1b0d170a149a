"""Request and response bodies for a district's pilot settings."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

FIELDS = (
    "min_teachers",
    "default_weeks",
    "min_weeks",
    "max_weeks",
    "observations_per_week",
    "interval_minutes",
    "time_on_task_drop",
    "error_pattern_days",
    "error_pattern_window_days",
    "tam_positive_threshold",
    "buy_in_target",
    "early_adopters",
    "coaching_cycle_weeks",
)


class PilotSettingsRead(BaseModel):
    """The numbers in force for a district (its overrides over the service defaults)."""

    model_config = ConfigDict(from_attributes=True)

    min_teachers: int = Field(description="Fewest volunteer teachers a pilot may have.")
    default_weeks: int = Field(description="A pilot's length when its plan names none.")
    min_weeks: int
    max_weeks: int
    observations_per_week: int = Field(description="Observation slots per teacher per week.")
    interval_minutes: int = Field(description="Time-on-task sampling interval.")
    time_on_task_drop: float = Field(
        description="How far a teacher's weekly time-on-task may fall below their first observed week "
        "before the tool is flagged for immediate review."
    )
    error_pattern_days: int = Field(
        description="Distinct failing days in one class period that make a pattern."
    )
    error_pattern_window_days: int = Field(description="The window those days must fall in.")
    tam_positive_threshold: int = Field(description="A TAM answer at or above this is positive.")
    buy_in_target: float = Field(description="Share of positive TAM answers a rollout phase needs.")
    early_adopters: int = Field(description="Teachers in rollout year 1.")
    coaching_cycle_weeks: int
    time_zone: str = Field(
        default="UTC",
        description="The district's IANA time zone, in which pilots cut days (error-pattern days, the "
        "observation schedule's today). Analytics owns it (`PUT /api/analytics/settings`); pilots keeps "
        "a copy from `district-time-zone-changed`, so it is not set here.",
    )
    overridden: list[str] = Field(default_factory=list, description="Fields this district set itself.")


class PilotSettingsUpdate(BaseModel):
    """Overrides to store; a field sent as null returns to the service default."""

    model_config = ConfigDict(extra="forbid")

    min_teachers: int | None = Field(default=None, ge=1, le=100)
    default_weeks: int | None = Field(default=None, ge=1, le=52)
    min_weeks: int | None = Field(default=None, ge=1, le=52)
    max_weeks: int | None = Field(default=None, ge=1, le=52)
    observations_per_week: int | None = Field(default=None, ge=1, le=5)
    interval_minutes: int | None = Field(default=None, ge=1, le=60)
    time_on_task_drop: float | None = Field(default=None, gt=0, le=1)
    error_pattern_days: int | None = Field(default=None, ge=2, le=30)
    error_pattern_window_days: int | None = Field(default=None, ge=1, le=120)
    tam_positive_threshold: int | None = Field(default=None, ge=1, le=10)
    buy_in_target: float | None = Field(default=None, gt=0, le=1)
    early_adopters: int | None = Field(default=None, ge=1, le=1000)
    coaching_cycle_weeks: int | None = Field(default=None, ge=1, le=12)
