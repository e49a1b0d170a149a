"""Catalog settings (environment variables prefixed `CATALOG_`)."""

from pydantic import Field, SecretStr
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
    retirement_usage_days: int = Field(
        default=182,
        ge=1,
        le=730,
        description="A retirement notifies the teachers who used the tool in this many days before it.",
    )
    smtp_host: str | None = Field(
        default=None, description="SMTP server of retirement notices; unset: each notice is only logged."
    )
    smtp_port: int = Field(default=25, ge=1, le=65535, description="Its port.")
    smtp_from: str = Field(default="edtech-platform@localhost", description="The notices' From address.")
    smtp_starttls: bool = Field(default=False, description="Upgrade the SMTP connection with STARTTLS.")
    smtp_username: str | None = Field(default=None, description="SMTP login, when the server wants one.")
    smtp_password: SecretStr | None = Field(default=None, description="Its password.")
    smtp_timeout_s: float = Field(default=10.0, gt=0, description="Timeout of one SMTP conversation.")
    document_max_bytes: int = Field(
        default=10 * 1024 * 1024, ge=1024, description="Largest tool document (privacy policy, DPA...) (413)."
    )
    notice_job_interval_s: float = Field(
        default=30.0, gt=0, description="How often pending notices are sent."
    )
    notice_max_attempts: int = Field(
        default=5, ge=1, le=100, description="Sending tries of a notice before it is marked failed."
    )
