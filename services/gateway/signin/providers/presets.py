"""What districts' usual providers need, each with its known pitfall handled.

- Google Workspace: one issuer for every Google account in the world; only the district's domain
  (`hd`, which Google sets for Workspace accounts only) may sign in; `hd` is also sent as a hint.
- Microsoft Entra: the issuer is the tenant's (`/{tenant}/v2.0`); the shared `/common` keys sign
  every tenant's tokens, so a token is taken only with the tenant's issuer and `tid`.
- Clever: one issuer for every district; the `district` claim must be the registered district;
  roles from `user_type`.
- ClassLink: one issuer for every tenant; `TenantId` must be the registered tenant; roles from
  `Role`; `SourcedId` is the person's OneRoster sourcedId.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from shared.config import Role

Preset = Literal["generic", "google", "entra", "clever", "classlink"]


@dataclass(frozen=True)
class PresetDefaults:
    """What a preset fills in; `issuer` may hold `{tenant}`."""

    issuer: str | None
    tenant_claim: str | None
    roles_claim: str | None = None
    role_map: dict[str, Role] = field(default_factory=dict)
    sourced_id_claim: str | None = None
    tenant_hint: str | None = None
    """An authorization request parameter that carries the tenant (Google's `hd`)."""


PRESETS: dict[Preset, PresetDefaults] = {
    "generic": PresetDefaults(issuer=None, tenant_claim=None),
    "google": PresetDefaults(issuer="https://accounts.google.com", tenant_claim="hd", tenant_hint="hd"),
    "entra": PresetDefaults(
        issuer="https://login.microsoftonline.com/{tenant}/v2.0", tenant_claim="tid", roles_claim="roles"
    ),
    "clever": PresetDefaults(
        issuer="https://clever.com",
        tenant_claim="district",
        roles_claim="user_type",
        role_map={"teacher": "teacher", "staff": "specialist", "district_admin": "admin"},
    ),
    "classlink": PresetDefaults(
        issuer="https://launchpad.classlink.com",
        tenant_claim="TenantId",
        roles_claim="Role",
        role_map={"Teacher": "teacher", "Tenant Administrator": "admin"},
        sourced_id_claim="SourcedId",
    ),
}
