"""The rules of registered providers: what a preset fills in, what must be given, and how a
provider's claims become a platform person."""

from __future__ import annotations

import copy
import uuid
from dataclasses import dataclass
from typing import Any

from services.gateway.models import IdentityProvider
from services.gateway.signin.oidc import ProviderClient, SignInFailed
from services.gateway.signin.providers.presets import PRESETS
from services.gateway.signin.providers.schemas import ProviderCreate, ProviderFields, ProviderRead
from services.gateway.signin.repository import SignInRepository
from services.gateway.signin.secrets import SecretBox
from shared.auth.tokens import MAX_SUBJECT
from shared.clock import Clock
from shared.config import Role
from shared.errors import Conflict, Unprocessable
from shared.validation import bad_text

DEFAULT_SCOPES = ["openid", "email", "profile"]


def _apply(row: IdentityProvider, data: ProviderFields, box: SecretBox, *, production: bool) -> None:
    given = data.model_dump(exclude_unset=True)
    preset = PRESETS[row.preset]  # type: ignore[index]
    for name in ("name", "client_id", "enabled"):
        if name in given and given[name] is None:
            raise Unprocessable(f"`{name}` cannot be null", field=name)
    for name in ("name", "client_id", "tenant", "tenant_claim", "roles_claim", "sourced_id_claim", "enabled"):
        if name in given:
            setattr(row, name, given[name])
    if "client_secret" in given:
        secret = data.client_secret.get_secret_value() if data.client_secret else None
        row.client_secret = box.seal(secret.encode()) if secret else None
    if "scopes" in given:
        row.scopes = list(dict.fromkeys(data.scopes or DEFAULT_SCOPES))
    if "role_map" in given:
        row.role_map = dict(data.role_map or {})
    if "default_roles" in given:
        row.default_roles = list(dict.fromkeys(data.default_roles or []))
    if row.tenant_claim and not row.tenant:
        raise Unprocessable(
            f"`tenant` is needed: the {row.preset} preset checks `{row.tenant_claim}`", field="tenant"
        )
    old_issuer = row.issuer
    if data.issuer:
        row.issuer = data.issuer
    elif not row.issuer or ("tenant" in given and preset.issuer and "{tenant}" in preset.issuer):
        if preset.issuer is None:
            raise Unprocessable("`issuer` is needed for a generic provider", field="issuer")
        row.issuer = preset.issuer.format(tenant=row.tenant or "")
    if data.discovery_url:
        row.discovery_url = data.discovery_url
    elif not row.discovery_url or row.issuer != old_issuer:
        row.discovery_url = f"{row.issuer.rstrip('/')}/.well-known/openid-configuration"
    if "openid" not in row.scopes:
        raise Unprocessable("`scopes` must include openid", field="scopes")
    if production:
        for name in ("issuer", "discovery_url"):
            if not str(getattr(row, name)).startswith("https://"):
                raise Unprocessable(f"`{name}` must be https", field=name)


def new_provider(
    data: ProviderCreate, *, district_id: str, box: SecretBox, clock: Clock, production: bool
) -> IdentityProvider:
    """A provider row from a registration, with its preset's defaults where nothing was given."""
    preset = PRESETS[data.preset]
    now = clock.now()
    row = IdentityProvider(
        id=uuid.uuid4(),
        district_id=district_id,
        preset=data.preset,
        issuer="",
        discovery_url="",
        scopes=list(DEFAULT_SCOPES),
        tenant_claim=preset.tenant_claim,
        roles_claim=preset.roles_claim,
        role_map=dict(preset.role_map),
        default_roles=[],
        sourced_id_claim=preset.sourced_id_claim,
        enabled=True,
        client_secret=None,
        created_at=now,
        updated_at=now,
    )
    _apply(row, data, box, production=production)
    return row


SIGN_IN_RULES = (
    "issuer",
    "discovery_url",
    "client_id",
    "scopes",
    "tenant",
    "tenant_claim",
    "roles_claim",
    "role_map",
    "default_roles",
    "sourced_id_claim",
    "enabled",
)
"""The fields that decide who signs in with a provider and as whom, with which roles: a change to
any of them ends the provider's sessions (its name and client secret are not among them)."""


def change_provider(
    row: IdentityProvider, data: ProviderFields, *, box: SecretBox, clock: Clock, production: bool
) -> list[str]:
    """Apply the fields given to a provider; the sign-in rules whose values changed."""
    before = {name: copy.deepcopy(getattr(row, name)) for name in SIGN_IN_RULES}
    _apply(row, data, box, production=production)
    row.updated_at = clock.now()
    return [name for name in SIGN_IN_RULES if getattr(row, name) != before[name]]


async def ensure_unique_name(repo: SignInRepository, row: IdentityProvider) -> None:
    """A district's providers have distinct names."""
    other = await repo.named(district_id=row.district_id, name=row.name)
    if other is not None and other.id != row.id:
        raise Conflict(f"the district already has a provider named {row.name!r}", field="name")


def read(row: IdentityProvider, *, public_url: str) -> ProviderRead:
    """The API's view of a provider."""
    return ProviderRead(
        id=row.id,
        district_id=row.district_id,
        name=row.name,
        preset=row.preset,
        issuer=row.issuer,
        discovery_url=row.discovery_url,
        client_id=row.client_id,
        has_client_secret=row.client_secret is not None,
        scopes=row.scopes,
        tenant=row.tenant,
        tenant_claim=row.tenant_claim,
        roles_claim=row.roles_claim,
        role_map=row.role_map,
        default_roles=row.default_roles,
        sourced_id_claim=row.sourced_id_claim,
        enabled=row.enabled,
        login_url=f"{public_url.rstrip('/')}/auth/login?provider={row.id}",
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def client_of(row: IdentityProvider, box: SecretBox) -> ProviderClient:
    """What the relying party needs of a provider (its secret decrypted)."""
    return ProviderClient(
        issuer=row.issuer,
        discovery_url=row.discovery_url,
        client_id=row.client_id,
        client_secret=box.open(row.client_secret).decode() if row.client_secret else None,
        scopes=tuple(row.scopes),
    )


def auth_params(row: IdentityProvider) -> dict[str, str]:
    """Extra parameters of the provider's authorization request (Google's `hd` hint)."""
    hint = PRESETS[row.preset].tenant_hint  # type: ignore[index]
    return {hint: row.tenant} if hint and row.tenant else {}


def claims_needed(row: IdentityProvider) -> set[str]:
    """The claims a provider's sign-ins are read from (looked for in userinfo when not in the ID token)."""
    names = {row.tenant_claim, row.roles_claim, row.sourced_id_claim, "email"}
    return {n for n in names if n}


@dataclass(frozen=True)
class Person:
    """Who signed in, in the platform's terms."""

    subject: str
    """The OneRoster sourcedId when the provider gives one (the rostered person), else its `sub`."""
    roles: tuple[Role, ...]
    name: str | None
    email: str | None
    idp_subject: str
    sourced_id: str | None


def _text(claims: dict[str, Any], name: str | None) -> str | None:
    value = claims.get(name) if name else None
    return value if isinstance(value, str) and value and bad_text(value) is None else None


def person_of(row: IdentityProvider, claims: dict[str, Any]) -> Person:
    """The person a provider's claims describe: of this district's tenant, with a platform role."""
    if row.tenant_claim:
        actual = claims.get(row.tenant_claim)
        if actual is None or str(actual) != row.tenant:
            raise SignInFailed(
                f"the account belongs to another tenant ({row.tenant_claim}={actual!r}), not this district's"
            )
    raw = claims.get(row.roles_claim) if row.roles_claim else None
    if isinstance(raw, str):  # one value ("Tenant Administrator"), or several separated by spaces
        values = [raw] if raw in row.role_map else raw.split()
    else:
        values = [str(v) for v in raw] if isinstance(raw, list) else []
    mapped = [row.role_map[v] for v in values if v in row.role_map]
    roles = tuple(dict.fromkeys(mapped or row.default_roles))
    if not roles:
        raise SignInFailed(
            f"no platform role for this account ({row.roles_claim or 'no roles claim'}: {raw!r})"
        )
    idp_subject = str(claims["sub"])
    sourced = _text(claims, row.sourced_id_claim)
    subject = sourced or idp_subject
    if len(subject) > MAX_SUBJECT or bad_text(subject):
        raise SignInFailed("the account's identifier cannot be used")
    name = (
        _text(claims, "name")
        or " ".join(filter(None, (_text(claims, "given_name"), _text(claims, "family_name"))))
        or None
    )
    email = _text(claims, "email") if claims.get("email_verified", True) is not False else None
    return Person(subject, roles, name, email, idp_subject, sourced)  # type: ignore[arg-type]
