"""Canvas Live Events signed by Instructure: RS256 JWTs verified against a public, rotating JWKS.

What Instructure documents (canvas-lms `doc/api/data_services/md/static/data_service_setup.md`,
published as https://developerdocs.instructure.com/services/canvas/data-services/live-events/overview/file.data_service_setup):
with "Sign Payload" on, an HTTPS subscription POSTs a signed JWT "with the live event data in the
claims"; the keys ("Beta and Production JWKs") are at
https://8axpcl50e4.execute-api.us-east-1.amazonaws.com/main/jwks, rotated monthly, and that
endpoint lists the previous, current and next key; the JWT header's `kid` names the key. The
Canvas Guide "How do I configure and test Canvas Live Events using HTTPS delivery?"
(https://guides.instructure.com/m/4214/l/1245281) gives the same URL and says to decode with RS256.

The rules here:
- Only RS256 (never `none`, never HS256: an HMAC "signed" with the public key is the classic
  key-confusion forgery). The header must name a `kid` the JWKS lists.
- The claims are the live event itself (`{"metadata": {...}, "body": {...}}`, as the event
  examples in canvas-lms `doc/api/data_services/json/canvas/event-types/*.json` show) and are
  returned whole. Instructure documents no registered claims, so none is required: `exp`, `nbf`
  and `iat` are checked when present (with a small leeway), `iss` and `aud` are not checked.
- Keys are cached for a TTL and refetched when a token names an unknown `kid` (a monthly rotation
  needs no restart), at most once per `min_refetch_s` whatever the kids asked for, one fetch
  shared by concurrent callers; a failed fetch keeps the keys already cached. That cache is the
  one OIDC bearer tokens use (`shared.auth.tokens.KeySet`), not a second copy.
- Every refusal is `Unauthorized` (401) with the reason, never a 500.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx
import jwt

from shared.auth.tokens import KeySet
from shared.errors import Unauthorized

ALGORITHMS = ["RS256"]


class JwksCache:
    """The signing keys published at one JWKS URL, and the verification of JWTs signed with them.

    Instructure's URL is the `canvas_jwks_url` setting. Keep one instance per URL (e.g. in a dict
    keyed by URL) so every integration using the same keys shares one cache; several instances may
    share one `http` client.
    """

    def __init__(
        self,
        url: str,
        *,
        http: httpx.AsyncClient | None = None,
        ttl_s: float = 3600.0,
        min_refetch_s: float = 30.0,
        leeway_s: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.url = url
        self.leeway_s = leeway_s
        self._own_http = http is None
        self.http = http or httpx.AsyncClient()
        self._keys = KeySet(url, self.http, ttl_s=ttl_s, min_refresh_s=min_refetch_s, clock=clock)

    async def aclose(self) -> None:
        """Close the HTTP client if this cache created it."""
        if self._own_http:
            await self.http.aclose()

    async def decode(self, token: str) -> dict[str, Any]:
        """The claims of an RS256 JWT signed by a key of this JWKS; Unauthorized (401) otherwise."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise Unauthorized(f"the Canvas JWT is malformed: {exc}") from exc
        alg, kid = header.get("alg"), header.get("kid")
        if alg not in ALGORITHMS:
            raise Unauthorized(f"the Canvas JWT is signed {alg!r}; only RS256 is accepted")
        if not isinstance(kid, str) or not kid:
            raise Unauthorized("the Canvas JWT names no key (`kid` missing from its header)")
        try:
            key = await self._keys.key(kid)
        except Unauthorized as exc:
            raise Unauthorized(
                f"the Canvas JWT's key {kid!r} is not usable: {exc.detail} ({self.url})"
            ) from exc
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=ALGORITHMS,
                leeway=self.leeway_s,
                options={"require": [], "verify_aud": False, "verify_iss": False},
            )
        except jwt.ExpiredSignatureError as exc:
            raise Unauthorized("the Canvas JWT has expired (exp)") from exc
        except jwt.ImmatureSignatureError as exc:
            raise Unauthorized(f"the Canvas JWT is not valid yet: {exc}") from exc
        except jwt.InvalidSignatureError as exc:
            raise Unauthorized(f"the Canvas JWT's signature does not match key {kid!r}") from exc
        except jwt.PyJWTError as exc:
            raise Unauthorized(f"the Canvas JWT is invalid: {exc}") from exc
        return claims
