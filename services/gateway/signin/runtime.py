"""What sign-in is made of in one gateway process: its database, the platform issuer, the relying
party that talks to the districts' providers, and the clock its rules read."""

from __future__ import annotations

import datetime as dt

import httpx

from services.gateway.config import Settings
from services.gateway.db import SCHEMA
from services.gateway.signin.issuer import PlatformIssuer
from services.gateway.signin.oidc import RelyingParty
from services.gateway.signin.secrets import SecretBox
from shared.clock import Clock
from shared.db import Database


class SignIn:
    """Sign-in's parts, built once per gateway app (`app.state.signin`)."""

    def __init__(self, settings: Settings, *, idp_http: httpx.AsyncClient | None = None) -> None:
        platform = settings.platform_issuer
        if platform is None:
            raise ValueError("the gateway issues the platform's tokens: set GATEWAY_AUTH_PLATFORM_ISSUER")
        self.settings = settings
        self.clock = Clock()
        """Where sign-in reads "now" (sessions, logins, keys); tests set it."""
        self.db = Database(settings.database_url, SCHEMA, pool_size=settings.db_pool_size, clock=self.clock)
        self.box = SecretBox.from_settings(settings)
        self.issuer = PlatformIssuer(
            db=self.db,
            box=self.box,
            config=platform,
            token_ttl=dt.timedelta(seconds=settings.token_ttl_s),
            key_lifetime=dt.timedelta(days=settings.signing_key_days),
            clock=self.clock,
        )
        self._own_http = idp_http is None
        self.http = idp_http or httpx.AsyncClient(timeout=httpx.Timeout(10.0, connect=5.0))
        self.rp = RelyingParty(
            self.http, cache_s=settings.idp_cache_s, jwks_min_refresh_s=settings.idp_jwks_min_refresh_s
        )
        self.secure_cookies = settings.public_url.startswith("https://")
        self.redirect_uri = f"{settings.public_url.rstrip('/')}/auth/callback"

    async def aclose(self) -> None:
        """Close the database and the HTTP client."""
        if self._own_http:
            await self.http.aclose()
        await self.db.dispose()
