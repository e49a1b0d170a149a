"""Analytics settings (environment variables prefixed `ANALYTICS_`)."""

import datetime as dt

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from shared.config import ServiceSettings


class Settings(ServiceSettings):
    """Settings of the analytics service; the domain numbers are per-district defaults."""

    model_config = SettingsConfigDict(env_prefix="ANALYTICS_", extra="ignore", env_nested_delimiter="__")

    database_url: str = Field(default="sqlite+aiosqlite:///./var/analytics.db")

    webhook_max_body_bytes: int = Field(
        default=5 * 1024 * 1024, ge=1024, description="Webhook body cap (413)."
    )
    webhook_tolerance_s: int = Field(default=300, ge=1, description="Allowed webhook-timestamp skew.")
    webhook_max_batch_events: int = Field(default=5000, ge=1, description="Most events in one delivery.")
    secret_grace_period_s: int = Field(
        default=86_400, ge=0, description="Old secret stays valid after rotation."
    )
    ingest_flush_workers: int = Field(
        default=2, ge=1, le=32, description="Concurrent ingestion transactions."
    )
    ingest_max_group_events: int = Field(
        default=5000, ge=1, description="Most events written in one transaction."
    )
    counting_batch_events: int = Field(
        default=20_000, ge=1, description="Most pending events a counting pass takes at once."
    )
    counting_poll_interval_s: float = Field(
        default=0.5, gt=0, description="How often counting looks for events other replicas appended."
    )
    counting_linger_s: float = Field(
        default=0.2, ge=0, le=5, description="How long counting lets events gather before a pass."
    )
    retention_school_years: int = Field(
        default=2, ge=1, le=20, description="Default school years of usage kept (this one included)."
    )
    school_year_start_month: int = Field(default=7, ge=1, le=12, description="Month a school year starts.")
    retention_interval_s: float = Field(
        default=86_400.0, gt=0, description="How often older usage is deleted and partitions kept."
    )
    public_url: str | None = Field(
        default=None,
        description="Public base URL LMSs post to (in integrations' endpoints); default: the request's.",
    )
    roster_max_upload_bytes: int = Field(
        default=100 * 1024 * 1024, ge=1024, description="Roster upload body cap (413)."
    )
    roster_max_unzipped_bytes: int = Field(
        default=1024 * 1024 * 1024,
        ge=1024,
        description="Most bytes the OneRoster files of one upload may hold uncompressed (413).",
    )
    roster_import_wait_s: float = Field(
        default=20.0,
        ge=0,
        le=300,
        description="Longest a roster upload with `?wait=true` waits for its import (then 202).",
    )
    integration_cache_ttl_s: float = Field(default=5.0, ge=0, description="How long integrations are cached.")
    canvas_jwks_url: str = Field(
        default="https://8axpcl50e4.execute-api.us-east-1.amazonaws.com/main/jwks",
        description="Instructure's keys of signed (RS256) Canvas Live Events.",
    )
    canvas_jwks_cache_s: float = Field(default=3600.0, gt=0, description="How long those keys are cached.")
    canvas_jwks_min_refetch_s: float = Field(
        default=30.0, ge=0, description="Fewest seconds between two fetches of those keys (unknown kids)."
    )

    utilization_threshold: float = Field(
        default=0.30, ge=0, le=1, description="Default teacher utilization floor."
    )
    evaluation_window_days: int = Field(
        default=182, ge=1, description="Default evaluation window (a semester)."
    )
    window_anchor: dt.date = Field(
        default=dt.date(2025, 8, 1), description="Default start of the first window."
    )
    dormant_share_threshold: float = Field(
        default=0.0, ge=0, le=1, description="license-dormant when dormant/seats exceeds this."
    )
    signals_interval_s: float = Field(default=3600.0, gt=0, description="How often the signal job runs.")
