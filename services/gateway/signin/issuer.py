"""The platform's token issuer: signing keys kept in the gateway's database (shared by its replicas,
encrypted at rest), rotated on a schedule, published at `/auth/jwks.json`.

A new key is published `PUBLISH_AHEAD` before it signs, longer than a service caches the key set, so
every service knows a key before it sees a token signed with it. A key that stopped signing stays
published until every token it signed has expired.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import secrets
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm
from sqlalchemy import select

from services.gateway.models import SigningKey
from services.gateway.signin.secrets import SecretBox
from shared.clock import Clock
from shared.config import IssuerConfig, Role
from shared.db import Database, advisory_lock
from shared.errors import Unauthorized

PUBLISH_AHEAD = dt.timedelta(minutes=65)
"""Longer than services cache a key set (`shared.auth.tokens.KeySet`, one hour)."""
RELOAD_S = 30.0
"""How often a replica rereads the keys (another replica may have rotated them)."""
FORCED_RELOAD_S = 1.0
"""Fewest seconds between rereads asked for by an unknown `kid` (made-up kids cost no query each)."""


@dataclass(frozen=True)
class _Key:
    kid: str
    private: rsa.RSAPrivateKey
    signs_from: dt.datetime
    expires_at: dt.datetime | None

    def jwk(self) -> dict[str, Any]:
        jwk: dict[str, Any] = json.loads(RSAAlgorithm.to_jwk(self.private.public_key()))
        jwk.update({"kid": self.kid, "use": "sig", "alg": "RS256"})
        return jwk


class PlatformIssuer:
    """Mints the platform's tokens and publishes their keys; verifies them in this process."""

    def __init__(
        self,
        *,
        db: Database,
        box: SecretBox,
        config: IssuerConfig,
        token_ttl: dt.timedelta,
        key_lifetime: dt.timedelta,
        clock: Clock,
    ) -> None:
        self.db = db
        self.box = box
        self.config = config
        self.token_ttl = token_ttl
        self.key_lifetime = key_lifetime
        self.clock = clock
        self._keys: list[_Key] = []
        self._loaded_at = -float("inf")
        self._lock = asyncio.Lock()

    @property
    def issuer(self) -> str:
        """The `iss` of the platform's tokens."""
        return self.config.issuer

    async def _load(self, *, force: bool = False) -> list[_Key]:
        async with self._lock:
            age = time.monotonic() - self._loaded_at
            if self._keys and (age < FORCED_RELOAD_S or (not force and age < RELOAD_S)):
                return self._keys
            async with self.db.transaction() as session:
                rows = (await session.scalars(select(SigningKey).order_by(SigningKey.signs_from))).all()
                if self._needs_key(rows):
                    await advisory_lock(session, "gateway.signing_key")
                    rows = (await session.scalars(select(SigningKey).order_by(SigningKey.signs_from))).all()
                    if self._needs_key(rows):
                        rows = [*rows, self._new_key(session, rows)]
            self._keys = [self._open(r) for r in rows]
            self._loaded_at = time.monotonic()
            return self._keys

    def _needs_key(self, rows: Sequence[SigningKey]) -> bool:
        now = self.clock.now()
        if not rows:
            return True
        newest = rows[-1]
        return newest.signs_from <= now and newest.signs_from + self.key_lifetime <= now + PUBLISH_AHEAD

    def _new_key(self, session: Any, rows: Sequence[SigningKey]) -> SigningKey:
        now = self.clock.now()
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        signs_from = now + PUBLISH_AHEAD if rows else now
        if rows:  # the key it replaces is published until its last token has expired
            rows[-1].expires_at = signs_from + self.token_ttl + dt.timedelta(minutes=5)
        row = SigningKey(
            kid=f"{now:%Y%m%d}-{secrets.token_hex(4)}",
            private_key=self.box.seal(pem),
            created_at=now,
            signs_from=signs_from,
        )
        session.add(row)
        return row

    def _open(self, row: SigningKey) -> _Key:
        loaded = serialization.load_pem_private_key(self.box.open(row.private_key), password=None)
        assert isinstance(loaded, rsa.RSAPrivateKey)
        return _Key(row.kid, loaded, row.signs_from, row.expires_at)

    async def rotate(self) -> None:
        """Start a new key now (publish it ahead; the current one signs until then)."""
        async with self.db.transaction() as session:
            await advisory_lock(session, "gateway.signing_key")
            rows = (await session.scalars(select(SigningKey).order_by(SigningKey.signs_from))).all()
            self._new_key(session, rows)
        self._loaded_at = -float("inf")
        await self._load(force=True)

    async def _signing_key(self) -> _Key:
        """The newest key already signing (a load makes the next one in time: `_needs_key`)."""
        keys = await self._load()
        now = self.clock.now()  # after the load, which may have made the first key just now
        return [k for k in keys if k.signs_from <= now][-1]

    async def jwks(self) -> dict[str, Any]:
        """The published keys: signing, about to sign, and retired ones whose tokens may still live."""
        now = self.clock.now()
        return {"keys": [k.jwk() for k in await self._load() if k.expires_at is None or k.expires_at > now]}

    async def public_key(self, kid: str | None) -> Any:
        """The verification key of `kid` (this process verifies its own tokens without HTTP)."""
        for force in (False, True):
            for key in await self._load(force=force):
                if key.kid == kid and (key.expires_at is None or key.expires_at > self.clock.now()):
                    return key.private.public_key()
        raise Unauthorized("token signed with a key the issuer does not publish")

    async def mint(
        self,
        *,
        subject: str,
        district_id: str,
        roles: Sequence[Role],
        name: str | None = None,
        email: str | None = None,
        extra: dict[str, Any] | None = None,
    ) -> tuple[str, int]:
        """A signed platform token and its lifetime in seconds."""
        key = await self._signing_key()
        now = self.clock.now()
        claims: dict[str, Any] = {
            **(extra or {}),
            "iss": self.issuer,
            "aud": self.config.audience,
            "sub": subject,
            "iat": now,
            "nbf": now,
            "exp": now + self.token_ttl,
            "jti": str(uuid.uuid4()),
            "district_id": district_id,
            "roles": list(roles),
        }
        if name:
            claims["name"] = name
        if email:
            claims["email"] = email
        token = jwt.encode(claims, key.private, algorithm="RS256", headers={"kid": key.kid})
        return token, int(self.token_ttl.total_seconds())
