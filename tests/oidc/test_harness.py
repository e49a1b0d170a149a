"""The OpenID Provider harness itself, against the real oidc-provider process: discovery, the code flow
with PKCE, key rotation, token lifetime, and the browser driver through a stand-in relying party."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import jwt
import pytest

from tests.fixtures.oidc import (
    OidcProvider,
    ProviderLoginRefused,
    asgi_browser,
    authorization_url,
    code_flow_tokens,
    pkce_pair,
    sign_in_at_provider,
    sign_out_at_provider,
)

CALLBACK = "http://127.0.0.1:9/callback"  # never requested by code_flow_tokens
EXTRA: dict[str, Any] = {
    "district": "d-042",
    "user_type": "teacher",
    "sourcedId": "t-1234",
    "groups": ["staff", "science"],
    "roles": ["teacher"],
}


@pytest.fixture(scope="module")
def provider(oidc_provider: OidcProvider) -> OidcProvider:
    """The module's provider with a basic-auth client, a post-auth client and one teacher."""
    oidc_provider.add_client("platform", "s3cret", [CALLBACK])
    oidc_provider.add_client(
        "other-app", "other-s3cret", [CALLBACK], token_endpoint_auth_method="client_secret_post"
    )
    oidc_provider.add_account(
        "ana",
        sub="u-ana",
        email="ana@d042.example.org",
        email_verified=True,
        name="Ana Lima",
        given_name="Ana",
        family_name="Lima",
        **EXTRA,
    )
    return oidc_provider


def verify(provider: OidcProvider, token: str, audience: str) -> dict[str, Any]:
    """The ID token's claims, its signature checked against the provider's published JWKS."""
    key = jwt.PyJWKClient(provider.jwks_url, cache_keys=False).get_signing_key_from_jwt(token)
    claims: dict[str, Any] = jwt.decode(
        token, key.key, algorithms=["RS256"], audience=audience, issuer=provider.issuer
    )
    return claims


async def test_discovery_lists_the_endpoints_and_s256_only(provider: OidcProvider) -> None:
    async with httpx.AsyncClient() as http:
        doc = (await http.get(provider.discovery_url)).json()
    assert doc["issuer"] == provider.issuer
    assert doc["authorization_endpoint"] == provider.authorization_endpoint
    assert doc["token_endpoint"] == provider.token_endpoint
    assert doc["jwks_uri"] == provider.jwks_url
    assert doc["end_session_endpoint"] == provider.end_session_endpoint
    assert doc["userinfo_endpoint"] == provider.userinfo_endpoint
    assert doc["code_challenge_methods_supported"] == ["S256"]
    assert {"district", "sourcedId", "groups"} <= set(doc["claims_supported"])


async def test_code_flow_with_pkce_gives_a_signed_id_token_with_the_extra_claims(
    provider: OidcProvider,
) -> None:
    tokens = await code_flow_tokens(provider, "platform", "s3cret", CALLBACK, "ana")

    claims = verify(provider, tokens["id_token"], "platform")
    assert jwt.get_unverified_header(tokens["id_token"])["kid"] == provider.signing_kid
    assert claims["sub"] == "u-ana"
    assert claims["nonce"] == tokens["nonce"]
    assert claims["email"] == "ana@d042.example.org"
    assert claims["family_name"] == "Lima"
    assert {name: claims[name] for name in EXTRA} == EXTRA
    async with httpx.AsyncClient() as http:
        info = await http.get(
            provider.userinfo_endpoint, headers={"Authorization": f"Bearer {tokens['access_token']}"}
        )
    assert info.status_code == 200
    assert info.json()["sub"] == "u-ana"


async def test_a_token_for_another_client_has_that_audience(provider: OidcProvider) -> None:
    tokens = await code_flow_tokens(provider, "other-app", "other-s3cret", CALLBACK, "ana")

    assert verify(provider, tokens["id_token"], "other-app")["aud"] == "other-app"
    with pytest.raises(jwt.InvalidAudienceError):
        verify(provider, tokens["id_token"], "platform")


async def test_an_authorization_request_without_pkce_is_refused(provider: OidcProvider) -> None:
    async with httpx.AsyncClient() as http:
        answer = await http.get(authorization_url(provider, "platform", CALLBACK, state="st-1"))

    assert answer.status_code in (302, 303)
    back = urlsplit(answer.headers["location"])
    query = parse_qs(back.query)
    assert f"{back.scheme}://{back.netloc}{back.path}" == CALLBACK
    assert query["error"] == ["invalid_request"]
    assert "PKCE" in query["error_description"][0]
    assert query["state"] == ["st-1"]
    assert "code" not in query


async def test_rotated_keys_sign_new_tokens_and_are_published(provider: OidcProvider) -> None:
    old = provider.signing_kid
    new = provider.rotate_keys(keep_old=True)

    tokens = await code_flow_tokens(provider, "platform", "s3cret", CALLBACK, "ana")
    assert jwt.get_unverified_header(tokens["id_token"])["kid"] == new
    assert verify(provider, tokens["id_token"], "platform")["sub"] == "u-ana"
    async with httpx.AsyncClient() as http:
        kids = [key["kid"] for key in (await http.get(provider.jwks_url)).json()["keys"]]
    assert kids == [new, old]

    newer = provider.rotate_keys(keep_old=False)
    async with httpx.AsyncClient() as http:
        kids = [key["kid"] for key in (await http.get(provider.jwks_url)).json()["keys"]]
    assert kids == [newer]


@pytest.fixture(scope="module")
def tenant_b(oidc_providers: Callable[..., OidcProvider], provider: OidcProvider) -> OidcProvider:
    """Another tenant: its own issuer under a path, the same signing keys as `provider` (Entra's
    /common keys), ID tokens of 2 s."""
    other = oidc_providers(issuer_path="/tenant-b/v2.0", keys=provider.keys, id_token_ttl=2)
    other.add_client("platform", "s3cret", [CALLBACK])
    other.add_account("ana", sub="u-ana", tid="tenant-b")
    return other


async def test_another_tenant_signs_with_the_same_keys_under_its_own_issuer(
    provider: OidcProvider, tenant_b: OidcProvider
) -> None:
    tokens = await code_flow_tokens(tenant_b, "platform", "s3cret", CALLBACK, "ana")

    assert tenant_b.issuer == f"{tenant_b.origin}/tenant-b/v2.0"
    assert jwt.get_unverified_header(tokens["id_token"])["kid"] == provider.signing_kid
    claims = verify(tenant_b, tokens["id_token"], "platform")
    assert claims["iss"] == tenant_b.issuer
    assert claims["tid"] == "tenant-b"
    with pytest.raises(jwt.InvalidIssuerError):
        verify(provider, tokens["id_token"], "platform")  # its signature verifies with provider's keys


async def test_mint_signs_any_claims_with_the_published_key(
    provider: OidcProvider, tenant_b: OidcProvider
) -> None:
    forged = provider.mint({"iss": tenant_b.issuer, "aud": "platform", "sub": "u-ana", "exp": 2_000_000_000})

    key = jwt.PyJWKClient(provider.jwks_url, cache_keys=False).get_signing_key_from_jwt(forged)
    claims = jwt.decode(forged, key.key, algorithms=["RS256"], audience="platform", issuer=tenant_b.issuer)
    assert claims["sub"] == "u-ana"
    assert jwt.get_unverified_header(forged)["kid"] == provider.signing_kid


async def test_a_claims_configuration_releases_extra_claims_by_scope(
    oidc_providers: Callable[..., OidcProvider],
) -> None:
    scoped = oidc_providers(
        claims={"openid": ["sub"], "email": ["email"], "district": ["district", "user_type"]}
    )
    scoped.add_client("platform", "s3cret", [CALLBACK])
    scoped.add_account(
        "ana", sub="u-ana", email="ana@d042.example.org", district="d-042", user_type="teacher"
    )

    plain = await code_flow_tokens(scoped, "platform", "s3cret", CALLBACK, "ana", scope="openid email")
    with_district = await code_flow_tokens(
        scoped, "platform", "s3cret", CALLBACK, "ana", scope="openid district"
    )

    plain_claims = verify(scoped, plain["id_token"], "platform")
    assert plain_claims["email"] == "ana@d042.example.org"
    assert "district" not in plain_claims
    district_claims = verify(scoped, with_district["id_token"], "platform")
    assert (district_claims["district"], district_claims["user_type"]) == ("d-042", "teacher")
    assert "email" not in district_claims


async def test_an_id_token_of_two_seconds_is_expired_after_three(tenant_b: OidcProvider) -> None:
    tokens = await code_flow_tokens(tenant_b, "platform", "s3cret", CALLBACK, "ana")

    claims = verify(tenant_b, tokens["id_token"], "platform")
    assert claims["exp"] - claims["iat"] == 2
    await asyncio.sleep(3)
    with pytest.raises(jwt.ExpiredSignatureError):
        verify(tenant_b, tokens["id_token"], "platform")


async def test_stop_is_clean_and_restart_keeps_the_issuer(
    oidc_providers: Callable[..., OidcProvider],
) -> None:
    alone = oidc_providers(issuer_path="/restart")
    issuer = alone.issuer

    alone.restart()
    assert alone.returncode == 0
    assert alone.issuer == issuer
    async with httpx.AsyncClient() as http:
        assert (await http.get(alone.discovery_url)).json()["issuer"] == issuer
        alone.stop()
        assert alone.returncode == 0
        with pytest.raises(httpx.ConnectError):
            await http.get(alone.discovery_url)


class StandInRelyingParty:
    """A relying party on loopback: /login redirects to the provider, /callback and /signed-out answer
    200 with the query (or posted form) they got, /logout redirects to the provider's end-session
    endpoint."""

    def __init__(self) -> None:
        self.redirects: dict[str, str] = {}

        rp = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                path, _, query = self.path.partition("?")
                if path in rp.redirects:
                    self.send_response(302)
                    self.send_header("location", rp.redirects[path])
                    self.send_header("content-length", "0")
                    self.end_headers()
                    return
                self.answer(path, parse_qs(query))

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                self.answer(self.path.partition("?")[0], parse_qs(self.rfile.read(length).decode()))

            def answer(self, path: str, got: dict[str, list[str]]) -> None:
                body = json.dumps({"path": path, "method": self.command, "query": got}).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("set-cookie", "rp_session=signed-in; Path=/; HttpOnly")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.origin = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def relying_party(provider: OidcProvider) -> Iterator[StandInRelyingParty]:
    """The stand-in relying party, registered at the provider as `portal`."""
    rp = StandInRelyingParty()
    provider.add_client(
        "portal",
        "portal-s3cret",
        [f"{rp.origin}/callback"],
        post_logout_redirect_uris=[f"{rp.origin}/signed-out"],
    )
    yield rp
    rp.close()


def start_sign_in(provider: OidcProvider, rp: StandInRelyingParty, state: str, **extra: str) -> str:
    """The relying party's login URL, redirecting to the provider with PKCE."""
    _, challenge = pkce_pair()
    rp.redirects["/login"] = authorization_url(
        provider, "portal", f"{rp.origin}/callback", state=state, code_challenge=challenge, **extra
    )
    return f"{rp.origin}/login"


async def test_sign_in_at_provider_returns_the_relying_partys_callback_answer(
    provider: OidcProvider, relying_party: StandInRelyingParty
) -> None:
    login_url = start_sign_in(provider, relying_party, "st-browser")
    async with httpx.AsyncClient() as browser:
        answer = await sign_in_at_provider(browser, login_url, login="ana")

        assert answer.status_code == 200
        assert answer.url.path == "/callback"
        got = answer.json()["query"]
        assert got["state"] == ["st-browser"]
        assert got["iss"] == [provider.issuer]
        assert len(got["code"][0]) > 20
        assert browser.cookies.get("rp_session") == "signed-in"

        # Signed in at the provider already: no form the second time, straight back with a code.
        again = await sign_in_at_provider(
            browser, start_sign_in(provider, relying_party, "st-2"), login="ana"
        )
        assert again.json()["query"]["state"] == ["st-2"]
        assert "code" in again.json()["query"]


async def test_a_form_post_response_is_posted_back_to_the_relying_party(
    provider: OidcProvider, relying_party: StandInRelyingParty
) -> None:
    login_url = start_sign_in(provider, relying_party, "st-post", response_mode="form_post")
    async with httpx.AsyncClient() as browser:
        answer = await sign_in_at_provider(browser, login_url, login="ana")

    assert answer.json()["method"] == "POST"
    assert answer.json()["path"] == "/callback"
    assert answer.json()["query"]["state"] == ["st-post"]
    assert "code" in answer.json()["query"]


async def test_changed_accounts_sign_the_next_token(oidc_providers: Callable[..., OidcProvider]) -> None:
    changing = oidc_providers()
    changing.add_client("platform", "s3cret", [CALLBACK])
    changing.set_accounts({"ana": {"sub": "u-ana", "roles": ["teacher"]}})
    before = await code_flow_tokens(changing, "platform", "s3cret", CALLBACK, "ana")

    changing.set_accounts({"ana": {"sub": "u-ana", "roles": ["edtech"]}}, passwords={"ana": "new"})

    with pytest.raises(ProviderLoginRefused):
        await code_flow_tokens(changing, "platform", "s3cret", CALLBACK, "ana")
    after = await code_flow_tokens(changing, "platform", "s3cret", CALLBACK, "ana", password="new")
    assert verify(changing, before["id_token"], "platform")["roles"] == ["teacher"]
    assert verify(changing, after["id_token"], "platform")["roles"] == ["edtech"]


async def test_a_wrong_password_is_refused_and_cancel_sends_access_denied(
    provider: OidcProvider, relying_party: StandInRelyingParty
) -> None:
    async with httpx.AsyncClient() as browser:
        with pytest.raises(ProviderLoginRefused) as refused:
            await sign_in_at_provider(
                browser, start_sign_in(provider, relying_party, "st-3"), login="ana", password="wrong"
            )
        assert refused.value.response is not None
        assert refused.value.response.status_code == 401

    async with httpx.AsyncClient() as browser:
        answer = await sign_in_at_provider(
            browser, start_sign_in(provider, relying_party, "st-4"), login="ana", cancel=True
        )
    assert answer.url.path == "/callback"
    assert answer.json()["query"]["error"] == ["access_denied"]
    assert answer.json()["query"]["state"] == ["st-4"]


async def test_sign_out_at_provider_ends_the_session_and_comes_back(
    provider: OidcProvider, relying_party: StandInRelyingParty
) -> None:
    async with httpx.AsyncClient() as browser:
        await sign_in_at_provider(browser, start_sign_in(provider, relying_party, "st-5"), login="ana")
        assert browser.cookies.get("op_session")
        tokens = await code_flow_tokens(
            provider, "portal", "portal-s3cret", f"{relying_party.origin}/callback", "ana"
        )
        relying_party.redirects["/logout"] = f"{provider.end_session_endpoint}?" + urlencode(
            {
                "id_token_hint": tokens["id_token"],
                "post_logout_redirect_uri": f"{relying_party.origin}/signed-out",
                "state": "bye",
            }
        )
        answer = await sign_out_at_provider(browser, f"{relying_party.origin}/logout")
        assert answer.url.path == "/signed-out", answer.text + provider.log
        assert answer.json()["query"]["state"] == ["bye"]

        # The provider's session is gone: signing in again shows the login form.
        with pytest.raises(ProviderLoginRefused):
            await sign_in_at_provider(
                browser, start_sign_in(provider, relying_party, "st-6"), login="ana", password="wrong"
            )


async def test_sign_in_through_a_relying_party_served_in_process(provider: OidcProvider) -> None:
    provider.add_client("in-process", "s3cret", ["http://testserver/callback"])
    _, challenge = pkce_pair()
    start = authorization_url(
        provider, "in-process", "http://testserver/callback", state="st-asgi", code_challenge=challenge
    )

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        assert scope["type"] == "http"
        if scope["path"] == "/login":
            await send(
                {"type": "http.response.start", "status": 302, "headers": [(b"location", start.encode())]}
            )
            await send({"type": "http.response.body", "body": b""})
            return
        body = json.dumps(parse_qs(scope["query_string"].decode())).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": body})

    async with asgi_browser(app) as browser:
        answer = await sign_in_at_provider(browser, "http://testserver/login", login="ana")

    assert str(answer.url).startswith("http://testserver/callback?")
    assert answer.json()["state"] == ["st-asgi"]
    assert "code" in answer.json()
