"""OIDC bearer tokens: validated against the issuer's JWKS; district and roles from claims."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx
import jwt
import structlog
from jwt import PyJWK, PyJWKSet

from shared.auth.dev_issuer import DevIssuer
from shared.config import ROLES, IssuerConfig, Role
from shared.errors import Unauthorized
from shared.validation import bad_text

log = structlog.get_logger(__name__)

ALLOWED_ALGORITHMS = frozenset({"RS256", "RS384", "RS512", "ES256", "ES384", "PS256"})
MAX_DISTRICT_ID = 64
MAX_SUBJECT = 200
"""The longest district id and subject the services' columns hold (`String(64)`, `String(200)`)."""


@dataclass(frozen=True)
class Principal:
    """Who is calling: a user of one district with platform roles."""

    subject: str
    district_id: str
    roles: frozenset[Role]
    name: str | None = None
    email: str | None = None
    issuer: str = ""
    token: str = field(default="", repr=False)
    expires_at: float | None = None
    """The token's `exp` (Unix seconds)."""

    def has_any(self, *roles: Role) -> bool:
        """Whether the principal holds at least one of `roles`."""
        return bool(self.roles.intersection(roles))


class LocalIssuer(Protocol):
    """An issuer whose keys this process holds itself (the dev issuer; the gateway's own issuer)."""

    @property
    def config(self) -> IssuerConfig:
        """How its tokens are checked."""
        ...

    async def public_key(self, kid: str | None) -> Any:
        """The verification key of `kid` (Unauthorized when it publishes none)."""
        ...


class KeySet:
    """One issuer's keys, fetched lazily and refreshed when a token names an unknown kid.

    Refreshes are rate limited (at most one per `min_refresh_s`, whatever the kids asked for), so
    tokens with made-up kids cannot make the platform hammer the district's IdP.
    """

    def __init__(
        self,
        url: str,
        http: httpx.AsyncClient,
        *,
        ttl_s: float = 3600,
        min_refresh_s: float = 30,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.url = url
        self.http = http
        self.ttl_s = ttl_s
        self.min_refresh_s = min_refresh_s
        self.clock = clock
        self._keys: dict[str, PyJWK] = {}
        self._all: list[PyJWK] = []
        self._fetched_at: float | None = None
        self._attempted_at: float | None = None
        self._lock = asyncio.Lock()

    def _age(self, since: float | None) -> float:
        return float("inf") if since is None else self.clock() - since

    async def key(self, kid: str | None) -> PyJWK:
        if self._age(self._fetched_at) >= self.ttl_s or (kid is not None and kid not in self._keys):
            await self._refresh()
        if not self._all:
            raise Unauthorized("the token issuer's keys cannot be fetched right now")
        if kid is None and len(self._all) == 1:
            return self._all[0]  # an IdP with one key may leave out the kid
        if kid is None or kid not in self._keys:
            raise Unauthorized("token signed with a key the issuer does not publish")
        return self._keys[kid]

    async def _refresh(self) -> None:
        async with self._lock:
            # Checked under the lock: concurrent requests that all missed wait for one fetch. Without
            # any key yet (IdP down at start-up) retry sooner, still not on every request.
            interval = self.min_refresh_s if self._all else min(self.min_refresh_s, 1.0)
            if self._age(self._attempted_at) < interval:
                return
            self._attempted_at = self.clock()
            try:
                response = await self.http.get(self.url, timeout=5)
                response.raise_for_status()
                jwks = PyJWKSet.from_dict(response.json())
            except Exception as exc:
                log.warning("jwks_fetch_failed", url=self.url, error=repr(exc))
                return  # keep serving the keys we have (if any)
            self._all = list(jwks.keys)
            self._keys = {k.key_id: k for k in jwks.keys if k.key_id}
            self._fetched_at = self._attempted_at


class TokenVerifier:
    """Validates bearer tokens from the configured issuers (and the dev issuer when enabled)."""

    def __init__(
        self,
        issuers: list[IssuerConfig],
        *,
        dev_issuer: DevIssuer | None = None,
        local_issuers: Sequence[LocalIssuer] = (),
        http: httpx.AsyncClient | None = None,
        leeway_s: int = 30,
        jwks_min_refresh_s: float = 30.0,
        jwks_ttl_s: float = 3600.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.issuers = {cfg.issuer: cfg for cfg in issuers}
        self.dev_issuer = dev_issuer
        self.local: dict[str, LocalIssuer] = {i.config.issuer: i for i in local_issuers}
        if dev_issuer is not None:
            self.local[dev_issuer.issuer] = dev_issuer
        self.http = http or httpx.AsyncClient()
        self.leeway_s = leeway_s
        self._caches = {
            cfg.issuer: KeySet(
                cfg.jwks_url, self.http, ttl_s=jwks_ttl_s, min_refresh_s=jwks_min_refresh_s, clock=clock
            )
            for cfg in issuers
        }

    async def aclose(self) -> None:
        """Release the HTTP client."""
        await self.http.aclose()

    async def verify(self, token: str) -> Principal:
        """The principal of a valid token; Unauthorized (401) otherwise."""
        try:
            header = jwt.get_unverified_header(token)
            unverified = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError as exc:
            raise Unauthorized("malformed bearer token") from exc
        alg = header.get("alg")
        if alg not in ALLOWED_ALGORITHMS:
            raise Unauthorized(f"token algorithm {alg!r} is not accepted")
        issuer = unverified.get("iss")
        if isinstance(issuer, str) and issuer in self.local:
            cfg = self.local[issuer].config
            key: Any = await self.local[issuer].public_key(header.get("kid"))
        elif isinstance(issuer, str) and issuer in self.issuers:
            cfg = self.issuers[issuer]
            key = await self._caches[issuer].key(header.get("kid"))
        else:
            raise Unauthorized("token issuer is not trusted")
        if alg not in cfg.algorithms:
            raise Unauthorized(f"token algorithm {alg!r} is not accepted for this issuer")
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=list(cfg.algorithms),
                audience=cfg.audience,
                issuer=cfg.issuer,
                leeway=self.leeway_s,
                options={"require": ["exp", "iss", "sub", "aud"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise Unauthorized("token expired") from exc
        except jwt.InvalidAudienceError as exc:
            raise Unauthorized("token audience is not this platform") from exc
        except jwt.InvalidIssuerError as exc:
            raise Unauthorized("token issuer is not trusted") from exc
        except jwt.PyJWTError as exc:
            raise Unauthorized(f"invalid token: {exc}") from exc
        return self._principal(cfg, claims, token)

    @staticmethod
    def _principal(cfg: IssuerConfig, claims: dict[str, Any], token: str) -> Principal:
        district = cfg.district_id or claims.get(cfg.district_claim)
        if not isinstance(district, str) or not district:
            raise Unauthorized(f"token has no district (claim {cfg.district_claim!r})")
        subject = str(claims["sub"])
        usable = ((cfg.district_claim, district, MAX_DISTRICT_ID), ("sub", subject, MAX_SUBJECT))
        for claim, value, limit in usable:
            reason = bad_text(value) or (f"is longer than {limit} characters" if len(value) > limit else None)
            if reason:
                raise Unauthorized(f"token claim {claim!r} {reason}")
        raw_roles = claims.get(cfg.roles_claim, [])
        if isinstance(raw_roles, str):
            raw_roles = raw_roles.split()
        roles: set[Role] = set()
        for value in raw_roles if isinstance(raw_roles, list) else []:
            # With a role map, only mapped values count (an IdP's own "admin" is not ours);
            # without one, the IdP speaks the platform's role names (the dev issuer does).
            mapped = cfg.role_map.get(str(value)) if cfg.role_map else (value if value in ROLES else None)
            if mapped:
                roles.add(mapped)
        return Principal(
            subject=subject,
            district_id=district,
            roles=frozenset(roles),
            name=claims.get("name"),
            email=claims.get("email"),
            issuer=cfg.issuer,
            token=token,
            expires_at=float(claims["exp"]),
        )
