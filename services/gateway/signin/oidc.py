"""The relying party: a provider's discovery document and keys (cached; keys refetched on an unknown
`kid`), the authorization request with PKCE, the code exchange and the ID token's checks."""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

import httpx
import jwt

from shared.auth.tokens import ALLOWED_ALGORITHMS, KeySet
from shared.errors import Unauthorized

LEEWAY_S = 30


class SignInFailed(Exception):
    """A sign-in that cannot go on; `reason` is recorded in the audit and told to the person."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Discovery:
    """What a provider's discovery document says the relying party needs."""

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    end_session_endpoint: str | None
    userinfo_endpoint: str | None
    algorithms: frozenset[str]
    client_secret_post_only: bool


@dataclass(frozen=True)
class Pkce:
    """A PKCE pair (RFC 7636): the verifier kept here, its S256 challenge sent to the provider."""

    verifier: str
    challenge: str

    @classmethod
    def new(cls) -> Pkce:
        """A fresh verifier (64 random bytes, base64url: 86 characters) and its challenge."""
        verifier = secrets.token_urlsafe(64)
        digest = hashlib.sha256(verifier.encode("ascii")).digest()
        return cls(verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii"))


@dataclass(frozen=True)
class ProviderClient:
    """The parts of a registered provider the protocol needs."""

    issuer: str
    discovery_url: str
    client_id: str
    client_secret: str | None
    scopes: tuple[str, ...]


class RelyingParty:
    """Talks OpenID Connect to the districts' providers."""

    def __init__(self, http: httpx.AsyncClient, *, cache_s: float, jwks_min_refresh_s: float) -> None:
        self.http = http
        self.cache_s = cache_s
        self.jwks_min_refresh_s = jwks_min_refresh_s
        self._documents: dict[str, tuple[float, Discovery]] = {}
        self._keys: dict[str, KeySet] = {}

    async def discover(self, provider: ProviderClient) -> Discovery:
        """The provider's discovery document (cached), checked to name the registered issuer."""
        cached = self._documents.get(provider.discovery_url)
        if cached is not None and time.monotonic() - cached[0] < self.cache_s:
            return cached[1]
        try:
            response = await self.http.get(provider.discovery_url)
            response.raise_for_status()
            doc = response.json()
            found = Discovery(
                issuer=str(doc["issuer"]),
                authorization_endpoint=str(doc["authorization_endpoint"]),
                token_endpoint=str(doc["token_endpoint"]),
                jwks_uri=str(doc["jwks_uri"]),
                end_session_endpoint=doc.get("end_session_endpoint"),
                userinfo_endpoint=doc.get("userinfo_endpoint"),
                algorithms=frozenset(doc.get("id_token_signing_alg_values_supported", ["RS256"])),
                client_secret_post_only=doc.get("token_endpoint_auth_methods_supported")
                == ["client_secret_post"],
            )
        except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
            raise SignInFailed(f"the provider's discovery document cannot be read: {exc!r}") from exc
        if found.issuer != provider.issuer:
            # OIDC Discovery 4.3; for Entra it is also what refuses the shared /common document,
            # whose issuer is a template, in place of the district's tenant.
            raise SignInFailed(
                f"the discovery document names issuer {found.issuer!r}, not {provider.issuer!r}"
            )
        self._documents[provider.discovery_url] = (time.monotonic(), found)
        return found

    def authorization_url(
        self,
        doc: Discovery,
        provider: ProviderClient,
        *,
        redirect_uri: str,
        state: str,
        nonce: str,
        pkce: Pkce,
        extra: dict[str, str],
    ) -> str:
        """Where the browser goes to sign in: the code flow with PKCE (S256), state and nonce."""
        params = {
            "response_type": "code",
            "client_id": provider.client_id,
            "redirect_uri": redirect_uri,
            "scope": " ".join(provider.scopes),
            "state": state,
            "nonce": nonce,
            "code_challenge": pkce.challenge,
            "code_challenge_method": "S256",
            **extra,
        }
        separator = "&" if "?" in doc.authorization_endpoint else "?"
        return f"{doc.authorization_endpoint}{separator}{urlencode(params, quote_via=quote)}"

    async def exchange(
        self, doc: Discovery, provider: ProviderClient, *, code: str, verifier: str, redirect_uri: str
    ) -> dict[str, Any]:
        """The token response for an authorization code (client_secret_basic unless only post is offered)."""
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "code_verifier": verifier,
        }
        headers = {"Accept": "application/json"}
        if provider.client_secret is None:
            form["client_id"] = provider.client_id
        elif doc.client_secret_post_only:
            form.update(client_id=provider.client_id, client_secret=provider.client_secret)
        else:  # RFC 6749 2.3.1: each part form-urlencoded before Basic encoding
            pair = f"{quote(provider.client_id, safe='')}:{quote(provider.client_secret, safe='')}"
            headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode("ascii")
        try:
            response = await self.http.post(doc.token_endpoint, data=form, headers=headers)
        except httpx.HTTPError as exc:
            raise SignInFailed(f"the provider's token endpoint cannot be reached: {exc!r}") from exc
        try:
            body = response.json()
        except ValueError:
            body = {}
        if response.status_code != 200 or not isinstance(body, dict):
            error = (
                body.get("error", response.status_code) if isinstance(body, dict) else response.status_code
            )
            raise SignInFailed(f"the provider refused the code exchange: {error}")
        if not isinstance(body.get("id_token"), str):
            raise SignInFailed("the provider's token response has no id_token (is `openid` in the scopes?)")
        return body

    def _key_set(self, doc: Discovery) -> KeySet:
        keys = self._keys.get(doc.jwks_uri)
        if keys is None:
            keys = KeySet(doc.jwks_uri, self.http, ttl_s=self.cache_s, min_refresh_s=self.jwks_min_refresh_s)
            self._keys[doc.jwks_uri] = keys
        return keys

    async def id_token_claims(
        self, doc: Discovery, provider: ProviderClient, id_token: str, *, nonce: str
    ) -> dict[str, Any]:
        """The claims of an ID token (OIDC Core 3.1.3.7): signature by the provider's keys, issuer,
        audience (and `azp`), expiry and the nonce of this sign-in."""
        try:
            header = jwt.get_unverified_header(id_token)
        except jwt.PyJWTError as exc:
            raise SignInFailed("the ID token is malformed") from exc
        alg = header.get("alg")
        if alg not in ALLOWED_ALGORITHMS or alg not in doc.algorithms:
            raise SignInFailed(f"the ID token's algorithm {alg!r} is not accepted")
        try:
            key = await self._key_set(doc).key(header.get("kid"))
        except Unauthorized as exc:
            raise SignInFailed(f"the ID token's key: {exc.detail}") from exc
        try:
            claims: dict[str, Any] = jwt.decode(
                id_token,
                key,
                algorithms=[alg],
                audience=provider.client_id,
                issuer=provider.issuer,
                leeway=LEEWAY_S,
                options={"require": ["exp", "iat", "iss", "sub", "aud"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise SignInFailed("the ID token has expired") from exc
        except jwt.InvalidAudienceError as exc:
            raise SignInFailed("the ID token is not for this platform (audience)") from exc
        except jwt.InvalidIssuerError as exc:
            raise SignInFailed("the ID token is from another issuer") from exc
        except jwt.PyJWTError as exc:
            raise SignInFailed(f"the ID token is invalid: {exc}") from exc
        audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
        if len(audiences) > 1 and claims.get("azp") != provider.client_id:
            raise SignInFailed("the ID token was issued to another party (azp)")
        if not secrets.compare_digest(str(claims.get("nonce", "")), nonce):
            raise SignInFailed("the ID token does not answer this sign-in (nonce)")
        return claims

    async def with_userinfo(
        self, doc: Discovery, claims: dict[str, Any], *, access_token: Any, needed: set[str]
    ) -> dict[str, Any]:
        """The ID token's claims completed from userinfo when some `needed` claim is not in it (Clever
        and ClassLink may keep the tenant and the role there); the ID token's values win."""
        if needed <= claims.keys() or not doc.userinfo_endpoint or not isinstance(access_token, str):
            return claims
        try:
            response = await self.http.get(
                doc.userinfo_endpoint,
                headers={"Authorization": f"Bearer {access_token}", "Accept": "application/json"},
            )
            response.raise_for_status()
            info = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise SignInFailed(f"the provider's userinfo cannot be read: {exc!r}") from exc
        if not isinstance(info, dict) or info.get("sub") != claims["sub"]:
            raise SignInFailed("the provider's userinfo is about someone else (sub)")  # OIDC Core 5.3.2
        return {**info, **claims}
