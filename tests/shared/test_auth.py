"""OIDC bearer tokens against a fake district IdP serving its JWKS over real HTTP."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import hashlib
import hmac
import json
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from fastapi import Depends, FastAPI
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from shared.api import PrincipalDep, require_roles
from shared.auth import DevIssuer, Principal, TokenVerifier
from shared.config import IssuerConfig, ServiceSettings
from shared.errors import PROBLEM_JSON, Unauthorized, install_problem_handlers
from shared.service import build_verifier
from tests.fixtures.loopback_json import JsonHost

AUDIENCE = "edtech-platform"
ISSUER_A = "https://idp.district-a.example"  # one district's own IdP: RSA keys, role map
ISSUER_B = "https://sso.shared-portal.example"  # shared portal: EC key, district from a claim
ISSUER_C = "https://login.district-c.example"  # publishes one key without a kid

RSA_1 = rsa.generate_private_key(public_exponent=65537, key_size=2048)
RSA_2 = rsa.generate_private_key(public_exponent=65537, key_size=2048)
GHOST = rsa.generate_private_key(public_exponent=65537, key_size=2048)
EC_1 = ec.generate_private_key(ec.SECP256R1())


def jwk(key: Any, kid: str) -> dict[str, Any]:
    algorithm = RSAAlgorithm if isinstance(key, rsa.RSAPrivateKey) else ECAlgorithm
    doc: dict[str, Any] = json.loads(algorithm.to_jwk(key.public_key()))
    doc.update(kid=kid, use="sig", alg="RS256" if algorithm is RSAAlgorithm else "ES256")
    return doc


@dataclass
class FakeIdP:
    """JWKS documents served over HTTP, with a count of fetches per path."""

    base_url: str = ""
    jwks: dict[str, dict[str, Any]] = field(default_factory=dict)
    fetches: Counter[str] = field(default_factory=Counter)

    def reset(self) -> None:
        keyless = {k: v for k, v in jwk(RSA_2, "-").items() if k != "kid"}
        self.jwks = {
            "/a/jwks.json": {"keys": [jwk(RSA_1, "rsa-1")]},
            "/b/jwks.json": {"keys": [jwk(EC_1, "ec-1")]},
            "/c/jwks.json": {"keys": [keyless]},
        }
        self.fetches.clear()


@pytest.fixture(scope="module")
def idp() -> Iterator[FakeIdP]:
    state = FakeIdP()

    def answer(path: str) -> tuple[int, Any]:
        state.fetches[path] += 1
        doc = state.jwks.get(path)
        return (200, doc) if doc is not None else (404, {})

    host = JsonHost(answer)
    state.base_url = host.origin
    yield state
    host.stop()


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Setup:
    idp: FakeIdP
    clock: FakeClock
    verifier: TokenVerifier
    client: httpx.AsyncClient


def tiny_app(verifier: TokenVerifier) -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)
    app.state.runtime = SimpleNamespace(verifier=verifier)

    @app.get("/me")
    async def me(principal: PrincipalDep) -> dict[str, Any]:
        return {
            "subject": principal.subject,
            "district_id": principal.district_id,
            "issuer": principal.issuer,
            "roles": sorted(principal.roles),
        }

    @app.get("/vetting")
    async def vetting(
        principal: Principal = Depends(require_roles("edtech", "specialist")),
    ) -> dict[str, str]:
        return {"subject": principal.subject}

    return app


@pytest.fixture
async def setup(idp: FakeIdP) -> AsyncIterator[Setup]:
    idp.reset()
    clock = FakeClock()
    issuers = [
        IssuerConfig(
            issuer=ISSUER_A,
            audience=AUDIENCE,
            jwks_url=f"{idp.base_url}/a/jwks.json",
            algorithms=["RS256"],
            district_id="district-a",
            roles_claim="groups",
            role_map={"EdTech-Coordinators": "edtech", "Teachers": "teacher"},
        ),
        IssuerConfig(
            issuer=ISSUER_B,
            audience=AUDIENCE,
            jwks_url=f"{idp.base_url}/b/jwks.json",
            algorithms=["ES256"],
            district_claim="district",
        ),
        IssuerConfig(
            issuer=ISSUER_C,
            audience=AUDIENCE,
            jwks_url=f"{idp.base_url}/c/jwks.json",
            district_id="district-c",
        ),
    ]
    verifier = TokenVerifier(issuers, clock=clock)
    transport = httpx.ASGITransport(app=tiny_app(verifier))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield Setup(idp, clock, verifier, client)
    await verifier.aclose()


def claims(**changes: Any) -> dict[str, Any]:
    now = dt.datetime.now(dt.UTC)
    doc: dict[str, Any] = {
        "iss": ISSUER_A,
        "aud": AUDIENCE,
        "sub": "teacher-7",
        "iat": now,
        "exp": now + dt.timedelta(minutes=5),
        "groups": ["Teachers"],
    }
    doc.update(changes)
    return {k: v for k, v in doc.items() if v is not None}


def sign(key: Any = RSA_1, kid: str = "rsa-1", alg: str = "RS256", **changes: Any) -> str:
    return jwt.encode(claims(**changes), key, algorithm=alg, headers={"kid": kid})


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def handmade(header: dict[str, Any], secret: bytes | None) -> str:
    """A token built by hand (PyJWT refuses to make these)."""
    body = claims(iat=None, exp=int((dt.datetime.now(dt.UTC) + dt.timedelta(minutes=5)).timestamp()))
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(body).encode())}"
    signature = b"" if secret is None else hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(signature)}"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_a_valid_district_token_gives_its_principal(setup: Setup) -> None:
    token = sign(groups=["Teachers", "EdTech-Coordinators", "admin", "Janitors"], district_id="district-z")
    r = await setup.client.get("/me", headers=bearer(token))
    assert r.status_code == 200, r.text
    # district fixed by the issuer (not the token's claim); only mapped roles ("admin" is the IdP's, not ours)
    assert r.json() == {
        "subject": "teacher-7",
        "district_id": "district-a",
        "issuer": ISSUER_A,
        "roles": ["edtech", "teacher"],
    }
    assert (await setup.client.get("/vetting", headers=bearer(token))).status_code == 200


async def test_an_ec_token_takes_its_district_from_the_claim(setup: Setup) -> None:
    token = sign(
        EC_1, "ec-1", "ES256", iss=ISSUER_B, district="district-b", roles=["specialist", "owner"], groups=None
    )
    r = await setup.client.get("/me", headers=bearer(token))
    assert r.status_code == 200, r.text
    assert r.json()["district_id"] == "district-b" and r.json()["roles"] == ["specialist"]
    no_district = sign(EC_1, "ec-1", "ES256", iss=ISSUER_B, roles=["specialist"])
    assert (await setup.client.get("/me", headers=bearer(no_district))).status_code == 401


async def test_a_role_it_lacks_is_403(setup: Setup) -> None:
    r = await setup.client.get("/vetting", headers=bearer(sign(groups=["Teachers"])))
    assert r.status_code == 403 and r.headers["content-type"] == PROBLEM_JSON


BAD_TOKENS: dict[str, Callable[[], str]] = {
    "expired": lambda: sign(exp=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)),
    "wrong-audience": lambda: sign(aud="some-other-app"),
    "wrong-issuer": lambda: sign(iss="https://idp.evil.example"),
    "issuer-without-its-algorithm": lambda: sign(iss=ISSUER_B, district="district-b"),  # B only takes ES256
    "unsigned-alg-none": lambda: handmade({"alg": "none", "typ": "JWT", "kid": "rsa-1"}, None),
    "hs256-with-the-public-key": lambda: handmade(
        {"alg": "HS256", "typ": "JWT", "kid": "rsa-1"},
        RSA_1.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ),
    ),
    "unknown-key": lambda: sign(GHOST, "ghost"),
    "known-kid-wrong-key": lambda: sign(GHOST, "rsa-1"),
    "alg-not-the-keys": lambda: sign(EC_1, "rsa-1", "ES256"),
    "no-subject": lambda: sign(sub=None),
    "no-expiry": lambda: sign(exp=None),
    "tampered": lambda: sign()[:-6] + "AAAAAA",
    "garbage": lambda: "not-a-jwt",
}


@pytest.mark.parametrize("make_token", BAD_TOKENS.values(), ids=BAD_TOKENS.keys())
async def test_bad_tokens_are_401(setup: Setup, make_token: Callable[[], str]) -> None:
    r = await setup.client.get("/me", headers=bearer(make_token()))
    assert r.status_code == 401, r.text
    assert r.headers["content-type"] == PROBLEM_JSON and r.headers["www-authenticate"] == "Bearer"
    assert r.json()["detail"]


async def test_a_missing_token_is_401(setup: Setup) -> None:
    r = await setup.client.get("/me")
    assert r.status_code == 401 and "bearer token" in r.json()["detail"]
    r = await setup.client.get("/me", headers={"Authorization": "Basic dXNlcjpwYXNz"})
    assert r.status_code == 401


async def test_jwks_is_refreshed_once_for_a_new_key_and_not_hammered(setup: Setup) -> None:
    assert (await setup.client.get("/me", headers=bearer(sign()))).status_code == 200
    assert (await setup.client.get("/me", headers=bearer(sign()))).status_code == 200
    assert setup.idp.fetches["/a/jwks.json"] == 1  # cached

    setup.idp.jwks["/a/jwks.json"]["keys"].append(jwk(RSA_2, "rsa-2"))  # the IdP rotates its key
    setup.clock.now += 60
    rotated = [sign(RSA_2, "rsa-2", sub=f"user-{i}") for i in range(5)]
    answers = await asyncio.gather(*(setup.client.get("/me", headers=bearer(t)) for t in rotated))
    assert [a.status_code for a in answers] == [200] * 5
    assert setup.idp.fetches["/a/jwks.json"] == 2  # one refresh for five concurrent requests

    for _ in range(20):  # made-up kids do not make us fetch again and again
        assert (
            await setup.client.get("/me", headers=bearer(sign(GHOST, uuid.uuid4().hex)))
        ).status_code == 401
    assert setup.idp.fetches["/a/jwks.json"] == 2
    setup.clock.now += 60
    for _ in range(5):
        await setup.client.get("/me", headers=bearer(sign(GHOST, uuid.uuid4().hex)))
    assert setup.idp.fetches["/a/jwks.json"] == 3  # at most one refresh per interval
    assert (await setup.client.get("/me", headers=bearer(sign()))).status_code == 200
    assert setup.idp.fetches["/b/jwks.json"] == 0  # the other issuer's keys were never needed


async def test_jwks_expires_after_its_ttl(setup: Setup) -> None:
    assert (await setup.client.get("/me", headers=bearer(sign()))).status_code == 200
    setup.idp.jwks["/a/jwks.json"] = {"keys": [jwk(RSA_2, "rsa-2")]}  # rsa-1 retired
    setup.clock.now += 3601
    assert (await setup.client.get("/me", headers=bearer(sign()))).status_code == 401
    assert setup.idp.fetches["/a/jwks.json"] == 2


async def test_an_unreachable_idp_is_401_not_500_and_not_hammered(setup: Setup) -> None:
    document = setup.idp.jwks.pop("/a/jwks.json")
    for _ in range(10):
        r = await setup.client.get("/me", headers=bearer(sign()))
        assert r.status_code == 401 and "cannot be fetched" in r.json()["detail"]
    assert setup.idp.fetches["/a/jwks.json"] == 1
    setup.idp.jwks["/a/jwks.json"] = document  # the IdP is back
    setup.clock.now += 2
    assert (await setup.client.get("/me", headers=bearer(sign()))).status_code == 200
    assert setup.idp.fetches["/a/jwks.json"] == 2


async def test_a_single_key_without_kid_verifies_tokens_without_kid(setup: Setup) -> None:
    token = jwt.encode(claims(iss=ISSUER_C), RSA_2, algorithm="RS256")
    r = await setup.client.get("/me", headers=bearer(token))
    assert r.status_code == 200, r.text
    assert r.json()["district_id"] == "district-c"
    forged = jwt.encode(claims(iss=ISSUER_C), GHOST, algorithm="RS256")
    assert (await setup.client.get("/me", headers=bearer(forged))).status_code == 401


async def test_dev_tokens_are_accepted_only_when_enabled(dev_issuer: DevIssuer, dev_key_file: str) -> None:
    token = dev_issuer.mint(subject="dev-user", district_id="district-dev", roles=["edtech"])
    enabled = build_verifier(
        ServiceSettings(
            auth_dev_issuer=True,
            auth_dev_key_file=dev_key_file,
            auth_dev_issuer_url=dev_issuer.issuer,
            auth_dev_audience=AUDIENCE,
        )
    )
    disabled = build_verifier(ServiceSettings(auth_dev_issuer=False))
    try:
        for verifier, status in ((enabled, 200), (disabled, 401)):
            transport = httpx.ASGITransport(app=tiny_app(verifier))
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
                r = await client.get("/me", headers=bearer(token))
            assert r.status_code == status, r.text
        principal = await enabled.verify(token)
        assert principal.district_id == "district-dev" and principal.roles == {"edtech"}
    finally:
        await enabled.aclose()
        await disabled.aclose()
    other_key = DevIssuer(issuer=dev_issuer.issuer, audience=AUDIENCE, key_file=f"{dev_key_file}.other")
    forged = other_key.mint(subject="x", district_id="district-dev", roles=["admin"])
    only_dev = TokenVerifier([], dev_issuer=dev_issuer)
    try:
        with pytest.raises(Unauthorized):
            await only_dev.verify(forged)
    finally:
        await only_dev.aclose()
