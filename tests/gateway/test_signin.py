"""District sign-in against a real OpenID Provider on loopback (panva's oidc-provider, certified).

The gateway runs in process on PostgreSQL (two replicas sharing its schema), with the catalog
behind it verifying the platform's tokens from the gateway's JWKS; the browser is httpx with one
cookie jar for the platform and the provider (`tests.fixtures.oidc`).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import jwt
import pytest
from fastapi import FastAPI

from services.analytics import app as analytics_app
from services.analytics.config import Settings as AnalyticsSettings
from services.catalog import app as catalog_app
from services.catalog.config import Settings as CatalogSettings
from services.gateway import app as gateway_app
from services.gateway.config import Settings as GatewaySettings
from services.gateway.signin.oidc import ProviderClient, RelyingParty, SignInFailed
from services.gateway.signin.runtime import SignIn
from shared.asgi import LateBoundApp
from shared.bus import MemoryBus
from shared.service import build_verifier
from tests.fixtures.auth import TokenFactory
from tests.fixtures.oidc import (
    OidcProvider,
    asgi_browser,
    code_flow_tokens,
    oidc_provider,
    oidc_provider_installed,
    oidc_providers,
    sign_in_at_provider,
    sign_out_at_provider,
)

__all__ = ["oidc_provider", "oidc_provider_installed", "oidc_providers"]

PUBLIC = "http://platform.test"
CALLBACK = f"{PUBLIC}/auth/callback"
SIGNED_OUT = f"{PUBLIC}/auth/signed-out"


@dataclass
class Platform:
    """Two gateway replicas on one database, the catalog behind them, and a way to build browsers."""

    gateways: list[FastAPI]

    @property
    def signin(self) -> SignIn:
        """The first replica's sign-in runtime."""
        runtime: SignIn = self.gateways[0].state.signin
        return runtime

    def browser(self, replica: int = 0) -> httpx.AsyncClient:
        """A browser whose requests to the platform reach one replica."""
        return asgi_browser(self.gateways[replica], PUBLIC)


@pytest.fixture
async def platform(database_url: str, auth_settings: dict[str, Any]) -> AsyncIterator[Platform]:
    """The platform on PostgreSQL, its gateway reached as http://platform.test."""
    common: dict[str, Any] = {
        "environment": "test",
        **auth_settings,
        "auth_platform_issuer": f"{PUBLIC}/auth",
    }
    late = LateBoundApp()
    keys_http = httpx.AsyncClient(mounts={PUBLIC: httpx.ASGITransport(app=late)})
    catalog_settings = CatalogSettings(database_url=database_url, workers_enabled=False, **common)
    catalog = catalog_app.create_app(
        catalog_settings, bus=MemoryBus(), verifier=build_verifier(catalog_settings, http=keys_http)
    )
    bus = MemoryBus()
    analytics_settings = AnalyticsSettings(database_url=database_url, **common)
    analytics = analytics_app.create_app(
        analytics_settings, bus=bus, verifier=build_verifier(analytics_settings, http=keys_http)
    )
    gateway_settings = GatewaySettings(
        database_url=database_url,
        public_url=PUBLIC,
        secret_key="a-test-secret-that-is-long-enough-0123456789",
        idp_cache_s=0,
        idp_jwks_min_refresh_s=0,
        catalog_url="http://catalog.internal",
        analytics_url="http://analytics.internal",
        **common,
    )
    gateways = [
        gateway_app.create_app(
            gateway_settings,
            transports={
                s: httpx.ASGITransport(app=a) for s, a in (("catalog", catalog), ("analytics", analytics))
            },
        )
        for _ in range(2)
    ]
    late.target = gateways[0]
    async with contextlib.AsyncExitStack() as stack:
        for app in (catalog, analytics, *gateways):
            await stack.enter_async_context(app.router.lifespan_context(app))
        await bus.start()
        stack.push_async_callback(bus.stop)
        stack.push_async_callback(keys_http.aclose)
        yield Platform(gateways)


@pytest.fixture
def client_id(oidc_provider: OidcProvider) -> str:
    """A client of this test's own at the provider, redirecting to the platform's callback."""
    cid = f"platform-{uuid.uuid4().hex[:8]}"
    oidc_provider.add_client(cid, "s3cret", [CALLBACK], post_logout_redirect_uris=[SIGNED_OUT])
    return cid


async def register(
    platform: Platform, auth: TokenFactory, provider: OidcProvider, client_id: str, **fields: Any
) -> dict[str, Any]:
    """Register the provider for the test's district through the API (as its edtech)."""
    body = {
        "name": "District IdP",
        "issuer": provider.issuer,
        "client_id": client_id,
        "client_secret": "s3cret",
    }
    async with platform.browser() as http:
        r = await http.post(f"{PUBLIC}/auth/providers", json={**body, **fields}, headers=auth("edtech"))
    assert r.status_code == 201, r.text
    return dict(r.json())


async def sign_in(
    platform: Platform, browser: httpx.AsyncClient, district: str, login: str
) -> httpx.Response:
    """Start at the platform's login URL for the district and sign in at the provider."""
    url = f"{PUBLIC}/auth/login?district={district}&return_to=/app/dashboard"
    return await sign_in_at_provider(browser, url, login=login)


async def test_code_flow_with_pkce_signs_the_person_in_and_services_trust_its_tokens(
    platform: Platform, oidc_provider: OidcProvider, client_id: str, auth: TokenFactory, district: str
) -> None:
    await register(
        platform, auth, oidc_provider, client_id, roles_claim="groups", role_map={"EdTech Staff": "edtech"}
    )
    oidc_provider.add_account(
        "ana", sub="idp-ana", email="ana@d.example", name="Ana Ruiz", groups=["EdTech Staff"]
    )
    async with platform.browser() as browser:
        start = await browser.get(f"{PUBLIC}/auth/login?district={district}")
        assert start.status_code == 302
        asked = parse_qs(urlsplit(start.headers["location"]).query)
        assert asked["code_challenge_method"] == ["S256"] and len(asked["code_challenge"][0]) == 43
        assert asked["client_id"] == [client_id] and asked["redirect_uri"] == [CALLBACK]
        back = await sign_in(platform, browser, district, "ana")
        assert back.status_code == 303, back.text
        assert back.headers["location"] == "/app/dashboard"
        cookie = back.headers["set-cookie"]
        assert "edtech_session=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie
        me = (await browser.get(f"{PUBLIC}/auth/session")).json()
        assert (me["subject"], me["district_id"], me["roles"], me["email"]) == (
            "idp-ana",
            district,
            ["edtech"],
            "ana@d.example",
        )
        token = (await browser.post(f"{PUBLIC}/auth/token")).json()["access_token"]
    jwks = (await _get(platform, "/auth/jwks.json")).json()
    key = jwt.PyJWKSet.from_dict(jwks)[jwt.get_unverified_header(token)["kid"]]
    claims = jwt.decode(token, key, algorithms=["RS256"], audience="edtech-platform")
    assert (
        claims["iss"] == f"{PUBLIC}/auth"
        and claims["district_id"] == district
        and claims["roles"] == ["edtech"]
    )
    listed = await _get(platform, "/api/catalog/tools", headers={"Authorization": f"Bearer {token}"})
    assert listed.status_code == 200, listed.text  # the gateway and the catalog both verified it
    audit = (await _get(platform, "/auth/audit", headers=auth("admin"))).json()["items"]
    assert [e["kind"] for e in audit][:2] == ["sign_in", "provider_created"]
    assert audit[0]["subject"] == "idp-ana" and audit[0]["address"]


async def _get(platform: Platform, path: str, **kwargs: Any) -> httpx.Response:
    async with platform.browser() as http:
        return await http.get(f"{PUBLIC}{path}", **kwargs)


async def test_the_rostered_sourced_id_is_who_signs_in(
    platform: Platform, oidc_provider: OidcProvider, client_id: str, auth: TokenFactory, district: str
) -> None:
    # ClassLink's preset: TenantId must be the district's, Role maps, SourcedId is the OneRoster id.
    await register(platform, auth, oidc_provider, client_id, preset="classlink", tenant="4711")
    oidc_provider.add_account("tom", sub="cl-99", TenantId="4711", Role="Teacher", SourcedId="t-tom")
    async with platform.browser() as browser:
        assert (await sign_in(platform, browser, district, "tom")).status_code == 303
        me = (await browser.get(f"{PUBLIC}/auth/session")).json()
        token = (await browser.post(f"{PUBLIC}/auth/token")).json()["access_token"]
    assert (me["subject"], me["roles"]) == ("t-tom", ["teacher"])
    notices = await _get(platform, "/api/catalog/notices", headers={"Authorization": f"Bearer {token}"})
    assert notices.status_code == 200  # "my notices": the catalog reads the teacher as t-tom


async def test_an_account_of_another_tenant_is_refused_and_audited(
    platform: Platform, oidc_provider: OidcProvider, client_id: str, auth: TokenFactory, district: str
) -> None:
    # Clever: one issuer for every district; only the registered district's accounts get in.
    await register(platform, auth, oidc_provider, client_id, preset="clever", tenant="clever-d1")
    oidc_provider.add_account("eve", sub="cv-eve", district="clever-d2", user_type="teacher")
    async with platform.browser() as browser:
        back = await sign_in(platform, browser, district, "eve")
        assert back.status_code == 401
        assert "another tenant" in back.json()["detail"]
        assert (await browser.get(f"{PUBLIC}/auth/session")).status_code == 401
    failed = (await _get(platform, "/auth/audit", headers=auth("edtech"))).json()["items"][0]
    assert failed["kind"] == "sign_in_failed" and "another tenant" in failed["detail"]["reason"]


async def test_a_discovery_document_of_another_issuer_is_refused(
    platform: Platform,
    oidc_provider: OidcProvider,
    oidc_providers: Callable[..., OidcProvider],
    client_id: str,
    auth: TokenFactory,
    district: str,
) -> None:
    # Entra's pitfall: the shared document (/common) signs with the same keys as the tenant's; a
    # provider registered with the tenant's issuer but another tenant's document is refused.
    other = oidc_providers(issuer_path="/tenant-b/v2.0", keys=oidc_provider.keys)
    await register(platform, auth, oidc_provider, client_id, discovery_url=other.discovery_url)
    async with platform.browser() as browser:
        r = await browser.get(f"{PUBLIC}/auth/login?district={district}")
    assert r.status_code == 400 and "names issuer" in r.json()["detail"]


async def test_key_rotation_at_the_provider_is_followed(
    platform: Platform, oidc_provider: OidcProvider, client_id: str, auth: TokenFactory, district: str
) -> None:
    await register(platform, auth, oidc_provider, client_id, default_roles=["teacher"])
    oidc_provider.add_account("kim", sub="kim")
    async with platform.browser() as browser:
        assert (await sign_in(platform, browser, district, "kim")).status_code == 303
    new_kid = oidc_provider.rotate_keys(keep_old=False)
    async with platform.browser() as browser:
        back = await sign_in(platform, browser, district, "kim")
        assert back.status_code == 303, back.text
    audit = (await _get(platform, "/auth/audit", headers=auth("edtech"))).json()["items"]
    assert [e["kind"] for e in audit][:2] == ["sign_in", "sign_in"]
    assert oidc_provider.signing_kid == new_kid


async def test_a_role_mapping_change_takes_effect_on_every_replica_without_restart(
    platform: Platform, oidc_provider: OidcProvider, client_id: str, auth: TokenFactory, district: str
) -> None:
    row = await register(
        platform, auth, oidc_provider, client_id, roles_claim="groups", role_map={"Staff": "teacher"}
    )
    oidc_provider.add_account("lee", sub="lee", groups=["Staff"])
    async with platform.browser(replica=1) as browser:
        await sign_in(platform, browser, district, "lee")
        assert (await browser.get(f"{PUBLIC}/auth/session")).json()["roles"] == ["teacher"]
    async with platform.browser(replica=0) as http:
        changed = await http.patch(
            f"{PUBLIC}/auth/providers/{row['id']}",
            json={"role_map": {"Staff": "edtech"}},
            headers=auth("edtech"),
        )
    assert changed.status_code == 200 and changed.json()["role_map"] == {"Staff": "edtech"}
    async with platform.browser(replica=1) as browser:
        await sign_in(platform, browser, district, "lee")
        assert (await browser.get(f"{PUBLIC}/auth/session")).json()["roles"] == ["edtech"]
    audit = (await _get(platform, "/auth/audit", headers=auth("edtech"))).json()["items"]
    change = next(e for e in audit if e["kind"] == "provider_changed")
    assert change["detail"]["fields"] == ["role_map"] and change["subject"]


async def test_a_change_to_a_providers_sign_in_rules_ends_its_sessions_a_rename_does_not(
    platform: Platform, oidc_provider: OidcProvider, client_id: str, auth: TokenFactory, district: str
) -> None:
    row = await register(
        platform, auth, oidc_provider, client_id, roles_claim="groups", role_map={"Staff": "edtech"}
    )
    oidc_provider.add_account("ray", sub="ray", groups=["Staff"])

    async def change(fields: dict[str, Any]) -> dict[str, Any]:
        async with platform.browser(replica=1) as http:
            r = await http.patch(f"{PUBLIC}/auth/providers/{row['id']}", json=fields, headers=auth("edtech"))
        assert r.status_code == 200, r.text
        audit = (await _get(platform, "/auth/audit", headers=auth("edtech"))).json()["items"]
        return dict(next(e for e in audit if e["kind"] == "provider_changed")["detail"])

    async with platform.browser() as ray:
        await sign_in(platform, ray, district, "ray")
        assert (await ray.get(f"{PUBLIC}/auth/session")).json()["roles"] == ["edtech"]
        # A rename, the secret entered again (as when it is rotated), or a rule set to the value it has:
        # the session goes on.
        detail = await change(
            {"name": "District IdP (staff)", "client_secret": "s3cret", "role_map": row["role_map"]}
        )
        assert detail["sessions_ended"] == 0
        assert (await ray.post(f"{PUBLIC}/auth/token")).status_code == 200
        # Ray is demoted: the session that holds edtech ends on every replica, now, not in 8 hours.
        detail = await change({"role_map": {"Staff": "teacher"}})
        assert detail["sessions_ended"] == 1 and detail["fields"] == ["role_map"]
        assert (await ray.get(f"{PUBLIC}/auth/session")).status_code == 401
        assert (await ray.post(f"{PUBLIC}/auth/token")).status_code == 401
        await sign_in(platform, ray, district, "ray")
        assert (await ray.get(f"{PUBLIC}/auth/session")).json()["roles"] == ["teacher"]
        # A district that turns its provider off signs its people out.
        assert (await change({"enabled": False}))["sessions_ended"] == 1
        assert (await ray.get(f"{PUBLIC}/auth/session")).status_code == 401


async def test_sign_out_ends_the_session_here_and_at_the_provider(
    platform: Platform, oidc_provider: OidcProvider, client_id: str, auth: TokenFactory, district: str
) -> None:
    await register(platform, auth, oidc_provider, client_id, default_roles=["teacher"])
    oidc_provider.add_account("sam", sub="sam")
    async with platform.browser() as browser:
        await sign_in(platform, browser, district, "sam")
        out = await browser.post(f"{PUBLIC}/auth/logout")
        assert out.status_code == 303
        assert out.headers["location"].startswith(oidc_provider.end_session_endpoint)
        assert "id_token_hint" in out.headers["location"]
        assert (await browser.get(f"{PUBLIC}/auth/session")).status_code == 401
        assert (await browser.post(f"{PUBLIC}/auth/token")).status_code == 401
        back = await sign_out_at_provider(browser, out.headers["location"])
        assert str(back.url) == SIGNED_OUT and back.status_code == 200
    audit = (await _get(platform, "/auth/audit", headers=auth("edtech"))).json()["items"]
    assert audit[0]["kind"] == "sign_out" and audit[0]["subject"] == "sam"


async def test_a_callback_not_started_here_or_replayed_is_refused(
    platform: Platform, oidc_provider: OidcProvider, client_id: str, auth: TokenFactory, district: str
) -> None:
    await register(platform, auth, oidc_provider, client_id, default_roles=["teacher"])
    oidc_provider.add_account("max", sub="max")
    async with platform.browser() as browser:
        back = await sign_in(platform, browser, district, "max")
        assert back.status_code == 303
        replay = await browser.get(str(back.request.url))  # the same code and state again
        assert replay.status_code == 400 and replay.json()["errors"][0]["field"] == "state"
    async with platform.browser() as stranger:  # another browser, without the login cookie
        r = await stranger.get(str(back.request.url))
        assert r.status_code == 400 and "not started in this browser" in r.json()["detail"]


async def test_the_relying_party_refuses_tokens_for_another_audience_expired_or_of_another_issuer(
    oidc_provider: OidcProvider, oidc_providers: Callable[..., OidcProvider], client_id: str
) -> None:
    oidc_provider.add_client("someone-else", "x", ["http://rp.test/cb"])
    oidc_provider.add_account("zoe", sub="zoe")
    async with httpx.AsyncClient() as http:
        rp = RelyingParty(http, cache_s=0, jwks_min_refresh_s=0)
        ours = ProviderClient(
            oidc_provider.issuer, oidc_provider.discovery_url, client_id, "s3cret", ("openid",)
        )
        doc = await rp.discover(ours)
        foreign = await code_flow_tokens(oidc_provider, "someone-else", "x", "http://rp.test/cb", "zoe")
        with pytest.raises(SignInFailed, match="audience"):
            await rp.id_token_claims(doc, ours, foreign["id_token"], nonce=foreign["nonce"])
        now = dt.datetime.now(dt.UTC)
        base = {"iss": oidc_provider.issuer, "sub": "zoe", "aud": client_id, "nonce": "n"}
        expired = oidc_provider.mint(
            {**base, "iat": now - dt.timedelta(hours=2), "exp": now - dt.timedelta(hours=1)}
        )
        with pytest.raises(SignInFailed, match="expired"):
            await rp.id_token_claims(doc, ours, expired, nonce="n")
        other = oidc_providers(issuer_path="/tenant-b/v2.0", keys=oidc_provider.keys)
        theirs = oidc_provider.mint(
            {**base, "iss": other.issuer, "iat": now, "exp": now + dt.timedelta(minutes=5)}
        )
        with pytest.raises(SignInFailed, match="another issuer"):
            await rp.id_token_claims(doc, ours, theirs, nonce="n")
        fine = oidc_provider.mint({**base, "iat": now, "exp": now + dt.timedelta(minutes=5)})
        assert (await rp.id_token_claims(doc, ours, fine, nonce="n"))["sub"] == "zoe"
        with pytest.raises(SignInFailed, match="nonce"):
            await rp.id_token_claims(doc, ours, fine, nonce="another")


async def test_services_refuse_a_provider_token_an_expired_platform_token_and_another_audience(
    platform: Platform, oidc_provider: OidcProvider, client_id: str
) -> None:
    oidc_provider.add_account("ida", sub="ida")
    provider_token = (await code_flow_tokens(oidc_provider, client_id, "s3cret", CALLBACK, "ida"))["id_token"]
    issuer = platform.signin.issuer
    valid, _ = await issuer.mint(subject="ida", district_id="d", roles=["edtech"])
    key = next(k for k in await issuer._load() if k.signs_from <= dt.datetime.now(dt.UTC))
    claims = jwt.decode(valid, options={"verify_signature": False})
    hour_ago = int((dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)).timestamp())

    def signed(**changes: Any) -> str:
        return jwt.encode({**claims, **changes}, key.private, algorithm="RS256", headers={"kid": key.kid})

    expired = signed(iat=hour_ago - 600, nbf=hour_ago - 600, exp=hour_ago)
    other_aud = signed(aud="someone-else")
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=platform.gateways[0]), base_url=PUBLIC
    ) as http:
        for token, reason in (
            (provider_token, "issuer is not trusted"),
            (expired, "expired"),
            (other_aud, "audience"),
        ):
            r = await http.get("/api/catalog/tools", headers={"Authorization": f"Bearer {token}"})
            assert r.status_code == 401 and reason in r.json()["detail"], (reason, r.text)
        assert (
            await http.get("/api/catalog/tools", headers={"Authorization": f"Bearer {valid}"})
        ).status_code == 200


async def test_registering_a_provider_checks_its_fields_and_never_shows_the_secret(
    platform: Platform, auth: TokenFactory
) -> None:
    async with platform.browser() as http:
        url = f"{PUBLIC}/auth/providers"
        for path in ("/auth/providers", "/auth/audit"):  # the district's settings need its staff's token
            for headers in ({}, {"Authorization": "Bearer not-a-token"}):
                r = await http.get(f"{PUBLIC}{path}", headers=headers)
                assert r.status_code == 401 and r.headers["content-type"] == "application/problem+json"
        generic = await http.post(url, json={"name": "x", "client_id": "c"}, headers=auth("edtech"))
        assert generic.status_code == 422 and generic.json()["errors"][0]["field"] == "issuer"
        clever = await http.post(
            url, json={"name": "x", "client_id": "c", "preset": "clever"}, headers=auth("edtech")
        )
        assert clever.status_code == 422 and clever.json()["errors"][0]["field"] == "tenant"
        teacher = await http.post(
            url,
            json={"name": "x", "client_id": "c", "preset": "google", "tenant": "d.org"},
            headers=auth("teacher"),
        )
        assert teacher.status_code == 403
        body = {
            "name": "Entra",
            "client_id": "c",
            "client_secret": "hush",
            "preset": "entra",
            "tenant": "t-1",
        }
        entra = await http.post(url, json=body, headers=auth("edtech"))
        assert entra.status_code == 201, entra.text
        assert entra.json()["issuer"] == "https://login.microsoftonline.com/t-1/v2.0"
        assert entra.json()["tenant_claim"] == "tid" and entra.json()["has_client_secret"] is True
        assert "hush" not in entra.text
        again = await http.post(url, json=body, headers=auth("edtech"))
        assert again.status_code == 409
        bad = await http.post(url, json={**body, "name": "y", "issuer": "ftp://x"}, headers=auth("edtech"))
        assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "issuer"


async def test_the_platform_publishes_a_new_signing_key_before_it_signs_and_drops_the_old_one_after(
    platform: Platform,
) -> None:
    from services.gateway.signin.issuer import PUBLISH_AHEAD

    issuer, clock = platform.signin.issuer, platform.signin.clock
    now = dt.datetime.now(dt.UTC)
    clock.set(now)

    async def kid_of_a_new_token() -> str:
        token, _ = await issuer.mint(subject="s", district_id="d", roles=["admin"])
        return str(jwt.get_unverified_header(token)["kid"])

    first = await kid_of_a_new_token()
    await issuer.rotate()
    published = [k["kid"] for k in (await issuer.jwks())["keys"]]
    assert first in published and len(published) == 2  # the next key is known before it signs
    assert await kid_of_a_new_token() == first
    clock.set(now + PUBLISH_AHEAD + dt.timedelta(seconds=1))
    second = await kid_of_a_new_token()
    assert second != first and second in published
    assert first in [k["kid"] for k in (await issuer.jwks())["keys"]]  # its tokens still live
    clock.set(now + PUBLISH_AHEAD + dt.timedelta(hours=1))
    assert [k["kid"] for k in (await issuer.jwks())["keys"]] == [second]


async def test_a_verified_email_links_the_person_to_the_roster_and_their_classes(
    platform: Platform, oidc_provider: OidcProvider, client_id: str, auth: TokenFactory, district: str
) -> None:
    from tests.analytics.roster_data import FILES, USERS, upload

    users = USERS.replace(
        "t1,active,2026-01-01,true,sch-1,teacher,t1,,Ada,Teach,,,,",
        "t1,active,2026-01-01,true,sch-1,teacher,t1,,Ada,Teach,,,ada@d.example,",
    )
    async with platform.browser() as http:
        http.base_url = httpx.URL(PUBLIC)
        imported = await upload(http, auth("admin"), {**FILES, "users.csv": users})
        assert imported.json()["state"] == "succeeded"
    # Google gives no sourcedId: the verified email names the rostered teacher.
    await register(platform, auth, oidc_provider, client_id, default_roles=["teacher"])
    oidc_provider.add_account("ada", sub="g-ada", email="ADA@d.example", email_verified=True)
    oidc_provider.add_account("unverified", sub="g-x", email="ada@d.example", email_verified=False)
    async with platform.browser() as browser:
        await sign_in(platform, browser, district, "ada")
        assert (await browser.get(f"{PUBLIC}/auth/session")).json()["subject"] == "t1"
        token = (await browser.post(f"{PUBLIC}/auth/token")).json()["access_token"]
        mine = await browser.get(
            f"{PUBLIC}/api/analytics/people/me", headers={"Authorization": f"Bearer {token}"}
        )
    assert mine.status_code == 200, mine.text
    assert mine.json()["sourced_id"] == "t1" and mine.json()["linked_by"] == "sourced_id"
    assert [(c["title"], c["role"], c["school_name"]) for c in mine.json()["classes"]] == [
        ("Math 5", "teacher", "Lincoln Elementary")
    ]
    async with platform.browser() as browser:  # an unverified email links nobody
        await sign_in(platform, browser, district, "unverified")
        assert (await browser.get(f"{PUBLIC}/auth/session")).json()["subject"] == "g-x"


async def test_tenant_and_role_claims_kept_in_userinfo_are_read_from_there(
    platform: Platform, oidc_provider: OidcProvider, client_id: str, auth: TokenFactory, district: str
) -> None:
    # Clever's documented /userinfo carries `district` and `user_type`; its ID token need not.
    await register(platform, auth, oidc_provider, client_id, preset="clever", tenant="clever-d1")
    oidc_provider.add_account("una", sub="cv-una", district="clever-d1", user_type="teacher")
    oidc_provider.set_userinfo_only(True)
    try:
        id_token = (await code_flow_tokens(oidc_provider, client_id, "s3cret", CALLBACK, "una"))["id_token"]
        assert "district" not in jwt.decode(id_token, options={"verify_signature": False})
        async with platform.browser() as browser:
            back = await sign_in(platform, browser, district, "una")
            assert back.status_code == 303, back.text
            me = (await browser.get(f"{PUBLIC}/auth/session")).json()
        assert (me["subject"], me["roles"]) == ("cv-una", ["teacher"])
        oidc_provider.add_account("ivy", sub="cv-ivy", district="clever-d9", user_type="teacher")
        async with platform.browser() as browser:
            refused = await sign_in(platform, browser, district, "ivy")
        assert refused.status_code == 401 and "another tenant" in refused.json()["detail"]
    finally:
        oidc_provider.set_userinfo_only(False)


async def test_tokens_with_made_up_key_ids_do_not_each_cost_a_key_reload(
    platform: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    from services.gateway.signin import issuer as issuer_module

    monkeypatch.setattr(issuer_module, "FORCED_RELOAD_S", 60.0)  # the loop below takes less, however slow
    issuer = platform.signin.issuer
    valid, _ = await issuer.mint(subject="s", district_id="d", roles=["admin"])
    key = next(k for k in await issuer._load() if k.signs_from <= dt.datetime.now(dt.UTC))
    claims = jwt.decode(valid, options={"verify_signature": False})
    rereads = 0
    original = issuer._load

    async def counting(*, force: bool = False) -> Any:
        nonlocal rereads
        before = issuer._loaded_at
        keys = await original(force=force)
        rereads += issuer._loaded_at != before
        return keys

    monkeypatch.setattr(issuer, "_load", counting)
    transport = httpx.ASGITransport(app=platform.gateways[0])
    async with httpx.AsyncClient(transport=transport, base_url=PUBLIC) as http:
        for n in range(20):
            forged = jwt.encode(claims, key.private, algorithm="RS256", headers={"kid": f"made-up-{n}"})
            r = await http.get("/auth/providers", headers={"Authorization": f"Bearer {forged}"})
            assert r.status_code == 401 and "does not publish" in r.json()["detail"]
    assert rereads <= 1


async def test_housekeeping_removes_what_sign_in_no_longer_needs_and_keeps_the_rest(
    platform: Platform, oidc_provider: OidcProvider, client_id: str, auth: TokenFactory, district: str
) -> None:
    from sqlalchemy import select

    from services.gateway.models import AuthEvent, LoginAttempt, SigningKey, WebSession
    from services.gateway.signin.housekeeping import purge
    from services.gateway.signin.issuer import PUBLISH_AHEAD

    provider = await register(platform, auth, oidc_provider, client_id, default_roles=["teacher"])
    oidc_provider.add_account("kim", sub="kim")
    oidc_provider.add_account("lee", sub="lee")
    signin, now = platform.signin, dt.datetime.now(dt.UTC)
    signin.clock.set(now)
    async with platform.browser() as kim:  # signs in, then out
        await sign_in(platform, kim, district, "kim")
        assert (await kim.post(f"{PUBLIC}/auth/logout")).status_code == 303
    async with platform.browser() as lee:  # signs in for 8 hours
        await sign_in(platform, lee, district, "lee")
        async with platform.browser() as gone:  # leaves for the provider and never comes back
            assert (await gone.get(f"{PUBLIC}/auth/login?district={district}")).status_code in (302, 303)
        token, _ = await signin.issuer.mint(subject="s", district_id=district, roles=["admin"])
        retired = str(jwt.get_unverified_header(token)["kid"])
        await signin.issuer.rotate()  # `retired` stops signing after PUBLISH_AHEAD, expires after its tokens
        async with signin.db.transaction() as session:
            session.add(
                AuthEvent(
                    district_id=district,
                    at=now - dt.timedelta(days=366),
                    kind="sign_in",
                    subject="ghost",
                    detail={},
                )
            )
        signin.clock.set(now + PUBLISH_AHEAD + dt.timedelta(hours=1))  # past the retired key's last token

        purged = await purge(signin)

        assert min(purged.__dict__.values()) >= 1  # each kind had something to go
        async with signin.db.transaction() as session:
            sessions = (
                await session.scalars(select(WebSession).where(WebSession.district_id == district))
            ).all()
            attempts = (
                await session.scalars(
                    select(LoginAttempt).where(LoginAttempt.provider_id == uuid.UUID(provider["id"]))
                )
            ).all()
            kids = set((await session.scalars(select(SigningKey.kid))).all())
            audit = (await session.scalars(select(AuthEvent).where(AuthEvent.district_id == district))).all()
        assert [s.subject for s in sessions] == ["lee"]  # kim's ended session and what it kept are gone
        assert attempts == []
        assert retired not in kids and kids  # the key that signs now stays
        assert "ghost" not in {e.subject for e in audit}  # past GATEWAY_AUDIT_DAYS
        assert {(e.kind, e.subject) for e in audit} >= {("sign_out", "kim"), ("sign_in", "lee")}
        # lee is still signed in, and tokens are still signed (by the key that stayed)
        assert (await lee.get(f"{PUBLIC}/auth/session")).status_code == 200
        assert (await lee.post(f"{PUBLIC}/auth/token")).status_code == 200
