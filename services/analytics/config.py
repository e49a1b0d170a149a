"""Analytics settings (environment variables prefixed `ANALYTICS_`)."""

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from shared.config import ServiceSettings


class Settings(ServiceSettings):
    """Settings of the analytics service."""

    model_config = SettingsConfigDict(env_prefix="ANALYTICS_", extra="ignore", env_nested_delimiter="__")

    database_url: str = Field(default="sqlite+aiosqlite:///./var/analytics.db")
