"""Pilots settings (environment variables prefixed `PILOTS_`)."""

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from shared.config import ServiceSettings


class Settings(ServiceSettings):
    """Settings of the pilots service; the `default_*` fields are what a district gets until it overrides."""

    model_config = SettingsConfigDict(env_prefix="PILOTS_", extra="ignore", env_nested_delimiter="__")

    database_url: str = Field(default="sqlite+aiosqlite:///./var/pilots.db")
    catalog_url: str | None = Field(
        default=None,
        description="Catalog base URL, to confirm a tool's status when the local copy is not enough.",
    )
    analytics_url: str | None = Field(
        default=None, description="Analytics base URL, for usage in pilot reports."
    )
    http_timeout_s: float = Field(default=5.0, gt=0, description="Timeout of calls to catalog and analytics.")

    default_min_teachers: int = Field(default=3, ge=1, description="Fewest volunteer teachers in a pilot.")
    default_weeks: int = Field(default=4, ge=1, description="A pilot's length when the plan names none.")
    default_min_weeks: int = Field(default=4, ge=1, description="Shortest pilot allowed, in weeks.")
    default_max_weeks: int = Field(default=6, ge=1, description="Longest pilot allowed, in weeks.")
    default_observations_per_week: int = Field(default=2, ge=1, le=5, description="Per teacher.")
    default_interval_minutes: int = Field(default=5, ge=1, description="Time-on-task sampling interval.")
    default_time_on_task_drop: float = Field(
        default=0.10,
        gt=0,
        le=1,
        description="A fall of a teacher's weekly time-on-task below their first observed week, in "
        "points (0.10 = 10), that calls for immediate review.",
    )
    default_error_pattern_days: int = Field(
        default=3, ge=2, description="Distinct days a tool must fail in one class period to make a pattern."
    )
    default_error_pattern_window_days: int = Field(default=7, ge=1, description="Window those days fall in.")
    default_tam_positive_threshold: int = Field(
        default=4, description="A TAM answer at or above is positive."
    )
    default_buy_in_target: float = Field(
        default=0.85, gt=0, le=1, description="Share of positive TAM answers."
    )
    default_early_adopters: int = Field(default=5, ge=1, description="Teachers in rollout year 1.")
    default_coaching_cycle_weeks: int = Field(
        default=4, ge=1, description="Length of a coaching cycle, in weeks."
    )
