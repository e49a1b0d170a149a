"""Settings every service shares; each service subclasses with its own env prefix."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.bus.security import KafkaSecurity, SaslMechanism, SecurityProtocol

Role = Literal["edtech", "specialist", "teacher", "admin", "vendor"]
ROLES: tuple[Role, ...] = ("edtech", "specialist", "teacher", "admin", "vendor")
DISTRICT_ROLES: tuple[Role, ...] = ("edtech", "specialist", "teacher", "admin")
"""The district's own people; a `vendor` is an outsider a district invited (the catalog's vendor portal)."""


class IssuerConfig(BaseModel):
    """One trusted OIDC identity provider (a district's SSO portal)."""

    issuer: str
    audience: str
    jwks_url: str
    algorithms: list[Literal["RS256", "ES256", "RS384", "ES384", "RS512", "PS256"]] = ["RS256", "ES256"]
    district_id: str | None = Field(
        default=None, description="The district every user of this issuer belongs to (per-district IdP)."
    )
    district_claim: str = Field(default="district_id", description="Claim naming the district when shared.")
    roles_claim: str = "roles"
    role_map: dict[str, Role] = Field(
        default_factory=dict, description="IdP role value -> platform role; unmapped values are ignored."
    )


class CommonSettings(BaseSettings):
    """Settings every process shares (the gateway too): environment, auth, logging."""

    # A refused setting is reported without the input: it would hold passwords (Kafka, databases).
    model_config = SettingsConfigDict(extra="ignore", env_nested_delimiter="__", hide_input_in_errors=True)

    environment: Literal["development", "test", "production"] = Field(
        default="development", description="`production` refuses the dev issuer and SQLite; JSON logs."
    )

    auth_issuers: list[IssuerConfig] = Field(
        default_factory=list, description="Trusted OIDC issuers, a JSON list (see Authentication)."
    )
    auth_dev_issuer: bool = Field(default=False, description="Trust (and, on the gateway, mint) dev tokens.")
    auth_dev_key_file: str = Field(
        default="./var/dev-issuer-key.pem", description="PEM key of the dev issuer (created if missing)."
    )
    auth_dev_issuer_url: str = Field(
        default="http://127.0.0.1:8000/auth/dev", description="`iss` of dev tokens (the gateway's URL)."
    )
    auth_dev_audience: str = Field(default="edtech-platform", description="`aud` of dev tokens.")
    auth_platform_issuer: str | None = Field(
        default="http://127.0.0.1:8000/auth",
        description="`iss` of the tokens the gateway issues to signed-in people (see District sign-in).",
    )
    auth_platform_jwks_url: str | None = Field(
        default=None, description="Where services read the platform issuer's keys (default: its /jwks.json)."
    )
    auth_platform_audience: str = Field(default="edtech-platform", description="`aud` of platform tokens.")

    log_level: str = Field(default="INFO", description="DEBUG, INFO, WARNING or ERROR.")
    log_json: bool | None = Field(default=None, description="JSON logs; defaults to on in production.")

    @model_validator(mode="after")
    def _refuse_dev_issuer_in_production(self) -> CommonSettings:
        if self.environment == "production" and self.auth_dev_issuer:
            raise ValueError("auth_dev_issuer must be off in production: trust the district's IdP")
        return self

    @property
    def platform_issuer(self) -> IssuerConfig | None:
        """The platform's own issuer (the gateway's sign-in), as every service trusts it."""
        if not self.auth_platform_issuer:
            return None
        issuer = self.auth_platform_issuer.rstrip("/")
        return IssuerConfig(
            issuer=issuer,
            audience=self.auth_platform_audience,
            jwks_url=self.auth_platform_jwks_url or f"{issuer}/jwks.json",
            algorithms=["RS256"],
        )

    @property
    def json_logs(self) -> bool:
        """Whether logs are rendered as JSON lines."""
        return self.log_json if self.log_json is not None else self.environment == "production"


class ServiceSettings(CommonSettings):
    """Base settings of a service with a database; a service sets `env_prefix` (`CATALOG_`, ...)."""

    database_url: str = Field(
        default="", description="sqlite+aiosqlite:///path.db or postgresql+asyncpg://user@host/db"
    )
    db_pool_size: int = Field(default=10, ge=1, le=200, description="Connections kept per process.")
    db_echo: bool = Field(default=False, description="Log every SQL statement.")

    bus_backend: Literal["kafka", "memory"] = Field(
        default="memory", description="`kafka`, or `memory` (in-process, embedded default only)."
    )
    kafka_bootstrap_servers: str = Field(default="127.0.0.1:9092", description="Kafka brokers, host:port,...")
    kafka_enable_idempotence: bool = Field(
        default=True, description="Idempotent producer (on for Apache Kafka; off for Tansu)."
    )
    kafka_acks: Literal["all", "1", "0"] = Field(default="all", description="Producer acknowledgements.")
    kafka_topic_partitions: int = Field(default=6, ge=1, description="Partitions of topics created here.")
    kafka_replication_factor: int = Field(default=1, ge=1, description="Replication of topics created here.")

    kafka_session_timeout_ms: int | None = Field(
        default=None, ge=100, description="Consumer group session timeout (aiokafka's default when unset)."
    )
    kafka_heartbeat_interval_ms: int | None = Field(
        default=None, ge=10, description="Consumer heartbeat interval (aiokafka's default when unset)."
    )

    kafka_security_protocol: SecurityProtocol = Field(
        default="PLAINTEXT",
        description="PLAINTEXT, SSL (TLS), SASL_PLAINTEXT or SASL_SSL (SASL over TLS: managed Kafka).",
    )
    kafka_sasl_mechanism: SaslMechanism | None = Field(
        default=None, description="PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512 (with a SASL_ protocol)."
    )
    kafka_sasl_username: str | None = Field(
        default=None, description="SASL user (an API key on Confluent Cloud)."
    )
    kafka_sasl_password: SecretStr | None = Field(
        default=None, description="SASL password (an API secret on Confluent Cloud)."
    )
    kafka_ssl_cafile: str | None = Field(
        default=None,
        description="PEM CA certificate(s) the brokers' certificates chain to (else the system's).",
    )
    kafka_ssl_certfile: str | None = Field(
        default=None,
        description="PEM client certificate for mutual TLS (with its key unless KEYFILE is set).",
    )
    kafka_ssl_keyfile: str | None = Field(
        default=None, description="PEM private key of the client certificate."
    )
    kafka_ssl_key_password: SecretStr | None = Field(
        default=None, description="Password of an encrypted client key."
    )

    workers_enabled: bool = Field(default=True, description="Run the outbox relay and event consumers.")
    outbox_poll_interval_s: float = Field(
        default=0.5, gt=0, description="Relay poll interval (commits here wake it at once)."
    )
    outbox_batch_size: int = Field(default=200, ge=1, description="Events relayed per pass.")
    outbox_retention_days: float = Field(
        default=7.0, gt=0, description="How long published events stay in the outbox to be republished."
    )
    consumer_max_attempts: int = Field(default=3, ge=1, description="Tries before a dead letter.")
    consumer_retry_backoff_s: float = Field(default=0.2, ge=0, description="First retry delay (doubles).")

    otlp_endpoint: str | None = Field(
        default=None,
        description="OTLP/HTTP receiver of this service's traces (`/v1/traces` is appended); else "
        "OTEL_EXPORTER_OTLP_ENDPOINT. Neither set: no tracing.",
    )
    metrics_broker_interval_s: float = Field(
        default=15.0, ge=0, description="/metrics reads the dead-letter depth from Kafka at most this often."
    )

    @model_validator(mode="after")
    def _kafka_security_fits(self) -> ServiceSettings:
        security = self.kafka_security()
        problems = security.problems()
        if (
            self.environment == "production"
            and security.protocol == "SASL_PLAINTEXT"
            and security.sasl_mechanism == "PLAIN"
        ):
            problems.append(
                f"{security.names['protocol']}=SASL_PLAINTEXT with PLAIN sends the password in clear: "
                "use SASL_SSL in production"
            )
        if problems:
            raise ValueError("Kafka security settings: " + "; ".join(problems))
        return self

    def kafka_security(self) -> KafkaSecurity:
        """The TLS and SASL settings every Kafka client of this process uses."""
        prefix = str(self.model_config.get("env_prefix", "")).upper()
        fields = {
            "protocol": "security_protocol",
            "sasl_mechanism": "sasl_mechanism",
            "sasl_username": "sasl_username",
            "sasl_password": "sasl_password",
            "ssl_cafile": "ssl_cafile",
            "ssl_certfile": "ssl_certfile",
            "ssl_keyfile": "ssl_keyfile",
            "ssl_key_password": "ssl_key_password",
        }
        password, key_password = self.kafka_sasl_password, self.kafka_ssl_key_password
        return KafkaSecurity(
            protocol=self.kafka_security_protocol,
            sasl_mechanism=self.kafka_sasl_mechanism,
            sasl_username=self.kafka_sasl_username,
            sasl_password=password.get_secret_value() if password else None,
            ssl_cafile=self.kafka_ssl_cafile,
            ssl_certfile=self.kafka_ssl_certfile,
            ssl_keyfile=self.kafka_ssl_keyfile,
            ssl_key_password=key_password.get_secret_value() if key_password else None,
            names={name: f"{prefix}KAFKA_{setting.upper()}" for name, setting in fields.items()},
        )

    @model_validator(mode="after")
    def _refuse_sqlite_in_production(self) -> ServiceSettings:
        if self.environment == "production" and self.database_url.startswith("sqlite"):
            raise ValueError("production needs PostgreSQL, not SQLite")
        return self
