"""Gateway settings (environment variables prefixed `GATEWAY_`)."""

from __future__ import annotations

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from shared.config import CommonSettings


class Settings(CommonSettings):
    """Settings of the gateway."""

    model_config = SettingsConfigDict(env_prefix="GATEWAY_", extra="ignore", env_nested_delimiter="__")

    catalog_url: str = Field(default="http://127.0.0.1:8001", description="Internal URL of catalog.")
    pilots_url: str = Field(default="http://127.0.0.1:8002", description="Internal URL of pilots.")
    analytics_url: str = Field(default="http://127.0.0.1:8003", description="Internal URL of analytics.")
    max_body_bytes: int = Field(default=8 * 1024 * 1024, ge=1024, description="Larger bodies get 413.")
    max_upload_bytes: int = Field(
        default=100 * 1024 * 1024, ge=1024, description="Larger file uploads (rosters, results) get 413."
    )
    connect_timeout_s: float = Field(default=2.0, gt=0, description="Unreachable after this: 502.")
    request_timeout_s: float = Field(default=30.0, gt=0, description="Slower answers: 504.")
    max_connections: int = Field(default=200, ge=1, description="Pooled connections to the services.")
    openapi_cache_s: float = Field(default=30.0, ge=0, description="How long the merged OpenAPI is cached.")
    api_rate_per_s: int = Field(
        default=30, ge=1, description="Edge: API requests per second per bearer token (429 beyond)."
    )
    api_burst: int = Field(
        default=120, ge=0, description="Edge: API requests over the rate let through at once."
    )
    webhook_rate_per_s: int = Field(
        default=500, ge=1, description="Edge: webhook requests per second per integration (429 beyond)."
    )
    webhook_burst: int = Field(
        default=5000, ge=0, description="Edge: webhook requests over the rate at once."
    )
    address_rate_per_s: int = Field(
        default=1000, ge=1, description="Edge: requests per second per client address, all routes (429)."
    )
    trusted_proxies: list[str] = Field(
        default_factory=list,
        description="Edge: load balancers in front (addresses, CIDRs) whose X-Forwarded-For is the client.",
    )
    tls_cert_file: str | None = Field(
        default=None, description="Edge: serve HTTPS with this PEM certificate chain (with the key below)."
    )
    tls_key_file: str | None = Field(
        default=None, description="Edge: the PEM private key of that certificate."
    )
    address_burst: int = Field(
        default=2000, ge=0, description="Edge: requests over the address rate at once."
    )

    database_url: str = Field(
        default="sqlite+aiosqlite:///./var/gateway.db",
        description="Identity providers, sessions, signing keys, sign-in audit (schema `gateway`).",
    )
    db_pool_size: int = Field(default=5, ge=1, le=200, description="Connections kept per process.")
    public_url: str = Field(
        default="http://127.0.0.1:8000",
        description="The platform's address as browsers see it (redirect URIs; https: Secure cookies).",
    )
    secret_key: SecretStr | None = Field(
        default=None,
        description="Encrypts providers' client secrets and signing keys at rest (required in production; "
        "development: a key file under ./var).",
    )
    secret_key_file: str = Field(
        default="./var/gateway-secret.key", description="Development only: where the secret key is kept."
    )
    session_hours: float = Field(default=8.0, gt=0, le=24 * 30, description="A sign-in lasts this long.")
    token_ttl_s: int = Field(
        default=600, ge=60, le=3600, description="Lifetime of the platform tokens a session obtains."
    )
    signing_key_days: float = Field(
        default=30.0, gt=0, description="The platform's signing key is replaced after this many days."
    )
    login_ttl_s: int = Field(default=600, ge=60, description="Time to finish a sign-in at the provider.")
    audit_days: int = Field(
        default=365,
        ge=1,
        description="The sign-in audit (who, when, from which address) is kept this many days, then purged.",
    )
    idp_cache_s: float = Field(
        default=3600.0, ge=0, description="How long a provider's discovery document and keys are cached."
    )
    idp_jwks_min_refresh_s: float = Field(
        default=30.0, ge=0, description="Fewest seconds between refetches of a provider's keys."
    )

    @model_validator(mode="after")
    def _tls_pair(self) -> Settings:
        if (self.tls_cert_file is None) != (self.tls_key_file is None):
            raise ValueError("tls_cert_file and tls_key_file go together: set both or neither")
        return self

    @model_validator(mode="after")
    def _production_sign_in(self) -> Settings:
        if self.environment != "production":
            return self
        if self.secret_key is None or len(self.secret_key.get_secret_value()) < 32:
            raise ValueError("secret_key must be set in production (at least 32 characters)")
        if not self.public_url.startswith("https://"):
            raise ValueError("public_url must be https in production: session cookies are Secure")
        if self.database_url.startswith("sqlite"):
            raise ValueError("database_url must be PostgreSQL in production")
        return self

    def upstream_url(self, service: str) -> str:
        """The base URL of an upstream service."""
        return str(getattr(self, f"{service}_url")).rstrip("/")
