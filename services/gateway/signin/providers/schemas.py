"""What the API takes and gives for a district's identity provider."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, SecretStr

from services.gateway.signin.providers.presets import Preset

DistrictRole = Literal["edtech", "specialist", "teacher", "admin"]
Claim = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.:/-]+$")]


def _http_url(value: str) -> str:
    parts = urlsplit(value)
    if (
        parts.scheme not in ("http", "https")
        or not parts.netloc
        or parts.fragment
        or any(c.isspace() for c in value)
    ):
        raise ValueError("must be an http(s) URL without a fragment")
    return value


Url = Annotated[str, Field(min_length=8, max_length=2048), AfterValidator(_http_url)]


class ProviderFields(BaseModel):
    """Fields a provider is registered and changed with."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=200)
    issuer: Url | None = Field(
        default=None,
        description="The provider's `iss` (a preset's own when left out; override for a sandbox).",
    )
    discovery_url: Url | None = Field(
        default=None,
        description="Its discovery document (default: issuer + /.well-known/openid-configuration).",
    )
    client_id: str | None = Field(default=None, min_length=1, max_length=400)
    client_secret: SecretStr | None = Field(
        default=None,
        max_length=1000,
        description="Stored encrypted; never returned (a public client has none).",
    )
    scopes: list[Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[\x21-\x7e]+$")]] | None = (
        Field(default=None, max_length=20, description="Default: openid email profile.")
    )
    tenant: str | None = Field(
        default=None,
        min_length=1,
        max_length=400,
        description="The district's tenant at a shared provider: Google domain (`hd`), Entra tenant id, "
        "Clever district id, ClassLink tenant id.",
    )
    tenant_claim: Claim | None = Field(default=None, description="The claim that must equal `tenant`.")
    roles_claim: Claim | None = Field(default=None, description="The claim carrying the person's roles.")
    role_map: dict[Annotated[str, Field(min_length=1, max_length=200)], DistrictRole] | None = Field(
        default=None, max_length=100, description="A value of the roles claim -> the platform role."
    )
    default_roles: list[DistrictRole] | None = Field(
        default=None,
        description="Roles of whoever signs in with none mapped (none: such a sign-in is refused).",
    )
    sourced_id_claim: Claim | None = Field(
        default=None, description="The claim carrying the person's OneRoster sourcedId."
    )
    enabled: bool | None = None


class ProviderCreate(ProviderFields):
    """A district's identity provider to register."""

    name: str = Field(min_length=1, max_length=200)
    preset: Preset = Field(default="generic", description="generic, google, entra, clever or classlink.")
    client_id: str = Field(min_length=1, max_length=400)


class ProviderUpdate(ProviderFields):
    """Changes to a provider: only the fields given change (the preset stays)."""


class ProviderRead(BaseModel):
    """A registered provider (its client secret is never shown)."""

    id: uuid.UUID
    district_id: str
    name: str
    preset: Preset
    issuer: str
    discovery_url: str
    client_id: str
    has_client_secret: bool
    scopes: list[str]
    tenant: str | None
    tenant_claim: str | None
    roles_claim: str | None
    role_map: dict[str, str]
    default_roles: list[str]
    sourced_id_claim: str | None
    enabled: bool
    login_url: str = Field(description="Where a portal tile links to sign this district's people in.")
    created_at: dt.datetime
    updated_at: dt.datetime
