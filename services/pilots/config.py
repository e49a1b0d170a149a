"""Pilots settings (environment variables prefixed `PILOTS_`)."""

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from shared.config import ServiceSettings


class Settings(ServiceSettings):
    """Settings of the pilots service."""

    model_config = SettingsConfigDict(env_prefix="PILOTS_", extra="ignore", env_nested_delimiter="__")

    database_url: str = Field(default="sqlite+aiosqlite:///./var/pilots.db")
