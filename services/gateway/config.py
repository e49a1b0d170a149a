"""Gateway settings (environment variables prefixed `GATEWAY_`)."""

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from shared.config import CommonSettings

UPSTREAMS = ("catalog", "pilots", "analytics")


class Settings(CommonSettings):
    """Settings of the gateway."""

    model_config = SettingsConfigDict(env_prefix="GATEWAY_", extra="ignore", env_nested_delimiter="__")

    catalog_url: str = Field(default="http://127.0.0.1:8001", description="Internal URL of catalog.")
    pilots_url: str = Field(default="http://127.0.0.1:8002", description="Internal URL of pilots.")
    analytics_url: str = Field(default="http://127.0.0.1:8003", description="Internal URL of analytics.")
    max_body_bytes: int = Field(default=8 * 1024 * 1024, ge=1024, description="Larger bodies get 413.")
    connect_timeout_s: float = Field(default=2.0, gt=0, description="Unreachable after this: 502.")
    request_timeout_s: float = Field(default=30.0, gt=0, description="Slower answers: 504.")
    max_connections: int = Field(default=200, ge=1, description="Pooled connections to the services.")
    openapi_cache_s: float = Field(default=30.0, ge=0, description="How long the merged OpenAPI is cached.")
    public_paths: tuple[str, ...] = Field(
        default=("/api/analytics/webhooks/",),
        description="Path prefixes forwarded without a user token (machine callers sign requests).",
    )

    def upstream_url(self, service: str) -> str:
        """The base URL of an upstream service."""
        return str(getattr(self, f"{service}_url")).rstrip("/")
