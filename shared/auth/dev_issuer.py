"""A local OIDC issuer for development: mints RS256 tokens so the platform runs without a real IdP.

The private key lives in one PEM file shared by every process on the machine (created on first
use), so separately started services trust what the gateway mints. Settings refuse it in
production.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from shared.config import IssuerConfig, Role
from shared.errors import Unauthorized
from shared.files import create_once


def _load_or_create_key(path: Path) -> rsa.RSAPrivateKey:
    if not path.exists():
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        create_once(
            path,
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            ),
        )
    loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(loaded, rsa.RSAPrivateKey):
        raise ValueError(f"{path} is not an RSA private key")
    return loaded


class DevIssuer:
    """Mints and publishes development tokens (`iss` = its URL, `district_id` and `roles` claims)."""

    def __init__(self, *, issuer: str, audience: str, key_file: str) -> None:
        self.issuer = issuer
        self.audience = audience
        self._key = _load_or_create_key(Path(key_file))
        public_numbers = self._key.public_key().public_numbers()
        self.kid = f"dev-{public_numbers.n % 10**12:012d}"
        self.config = IssuerConfig(
            issuer=issuer, audience=audience, jwks_url=f"{issuer}/jwks.json", algorithms=["RS256"]
        )

    def mint(
        self,
        *,
        subject: str,
        district_id: str,
        roles: list[Role],
        name: str | None = None,
        email: str | None = None,
        ttl: dt.timedelta = dt.timedelta(hours=8),
    ) -> str:
        """A signed token for `subject` in `district_id` with `roles`."""
        now = dt.datetime.now(dt.UTC)
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "aud": self.audience,
            "sub": subject,
            "iat": now,
            "nbf": now,
            "exp": now + ttl,
            "jti": str(uuid.uuid4()),
            "district_id": district_id,
            "roles": roles,
        }
        if name:
            claims["name"] = name
        if email:
            claims["email"] = email
        return jwt.encode(claims, self._key, algorithm="RS256", headers={"kid": self.kid})

    def jwks(self) -> dict[str, Any]:
        """The public key set (JWKS) of this issuer."""
        jwk = json.loads(RSAAlgorithm.to_jwk(self._key.public_key()))
        jwk.update({"kid": self.kid, "use": "sig", "alg": "RS256"})
        return {"keys": [jwk]}

    async def public_key(self, kid: str | None) -> Any:
        """The verification key for `kid`."""
        if kid not in (None, self.kid):
            raise Unauthorized("token signed with a key the issuer does not publish")
        return self._key.public_key()
