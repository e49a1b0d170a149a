"""Catalog settings (environment variables prefixed `CATALOG_`)."""

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from shared.config import ServiceSettings


class Settings(ServiceSettings):
    """Settings of the catalog service; the domain numbers are defaults a district can override."""

    model_config = SettingsConfigDict(env_prefix="CATALOG_", extra="ignore", env_nested_delimiter="__")

    database_url: str = Field(default="sqlite+aiosqlite:///./var/catalog.db")
    analytics_url: str | None = Field(
        default=None, description="Analytics base URL, for the teachers who use a tool being retired."
    )
    http_timeout_s: float = Field(default=5.0, gt=0, description="Timeout of calls to analytics.")

    default_cost_limit_per_student: float = Field(
        default=5.0, ge=0, description="Max cost per student per year of a supplemental tool (USD)."
    )
    default_retirement_notice_days: int = Field(
        default=30, ge=0, le=365, description="Days of notice teachers get before a tool retires."
    )
    default_fatigue_limit: int = Field(
        default=5, ge=1, le=100, description="New tools one school or grade team may get per semester."
    )
    default_renewal_window_days: int = Field(
        default=60, ge=1, le=730, description="How far ahead `upcoming renewals` looks by default."
    )
    retirement_job_interval_s: float = Field(
        default=3600.0, gt=0, description="How often the background job retires tools whose notice ended."
    )
