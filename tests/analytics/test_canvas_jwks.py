"""Canvas Live Events signed RS256 by rotating keys, verified against a JWKS served over real HTTP."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from services.analytics.config import Settings
from services.analytics.ingest.jwks import JwksCache
from shared.errors import Unauthorized
from tests.fixtures.jwks_host import JwksHost

MIN_REFETCH_S = 30.0
TTL_S = 3600.0

KEY_MAY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
KEY_JUNE = rsa.generate_private_key(public_exponent=65537, key_size=2048)
KEY_JULY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
STRANGER = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def live_event(name: str = "logged_in", **claims: Any) -> dict[str, Any]:
    """A Canvas live event as the canvas-lms docs show it (metadata + body), plus `claims`."""
    return {
        "metadata": {
            "event_name": name,
            "event_time": "2026-03-05T12:00:00.000Z",
            "hostname": "district.instructure.com",
            "producer": "canvas",
            "root_account_id": "21070000000000001",
            "user_id": "21070000000000042",
            "user_sis_id": "u-9",
            "context_type": "Course",
            "context_id": "21070000000000007",
            "event_id": str(uuid.uuid4()),
        },
        "body": {"redirect_url": "https://district.instructure.com/"},
        **claims,
    }


def sign(key: rsa.RSAPrivateKey, kid: str | None, claims: dict[str, Any] | None = None) -> str:
    headers = {"kid": kid} if kid is not None else {}
    return jwt.encode(claims or live_event(), key, algorithm="RS256", headers=headers)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def hand_made(header: dict[str, Any], claims: dict[str, Any], sign_with: bytes | None) -> str:
    """A JWT PyJWT would refuse to make: `alg: none`, or HMAC keyed with a public key's PEM."""
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}"
    signature = (
        b"" if sign_with is None else hmac.new(sign_with, signing_input.encode(), hashlib.sha256).digest()
    )
    return f"{signing_input}.{b64(signature)}"


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def host() -> Iterator[JwksHost]:
    served = JwksHost()
    served.publish((KEY_MAY, "2026-05"), (KEY_JUNE, "2026-06"))
    yield served
    served.stop()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def cache(host: JwksHost, clock: FakeClock) -> AsyncIterator[JwksCache]:
    keys = JwksCache(host.url, ttl_s=TTL_S, min_refetch_s=MIN_REFETCH_S, clock=clock)
    yield keys
    await keys.aclose()


async def refused(cache: JwksCache, token: str) -> str:
    with pytest.raises(Unauthorized) as caught:
        await cache.decode(token)
    assert caught.value.status == 401
    return caught.value.detail


def test_default_jwks_url_is_instructures() -> None:
    assert Settings().canvas_jwks_url == "https://8axpcl50e4.execute-api.us-east-1.amazonaws.com/main/jwks"


async def test_a_valid_rs256_live_event_is_accepted_and_returned_whole(
    cache: JwksCache, host: JwksHost
) -> None:
    now = int(time.time())
    event = live_event(
        "asset_accessed", iss="https://live-events.canvas.instructure.com", iat=now, exp=now + 300
    )
    assert await cache.decode(sign(KEY_JUNE, "2026-06", event)) == event
    plain = live_event()  # no registered claims at all: Instructure documents none
    assert await cache.decode(sign(KEY_MAY, "2026-05", plain)) == plain
    assert host.hits == 1


async def test_concurrent_first_calls_share_one_fetch(cache: JwksCache, host: JwksHost) -> None:
    host.delay_s = 0.2
    tokens = [sign(KEY_JUNE, "2026-06") for _ in range(20)]
    claims = await asyncio.gather(*(cache.decode(t) for t in tokens))
    assert len(claims) == 20
    assert host.hits == 1


async def test_a_rotated_key_is_fetched_without_restart_and_the_old_kept_while_listed(
    cache: JwksCache, host: JwksHost, clock: FakeClock
) -> None:
    await cache.decode(sign(KEY_JUNE, "2026-06"))
    assert host.hits == 1

    clock.advance(MIN_REFETCH_S + 1)
    host.publish((KEY_JUNE, "2026-06"), (KEY_JULY, "2026-07"))  # the monthly rotation
    await cache.decode(sign(KEY_JULY, "2026-07"))
    assert host.hits == 2
    await cache.decode(sign(KEY_JUNE, "2026-06"))  # still listed: still good, no fetch
    assert host.hits == 2

    clock.advance(TTL_S + 1)
    host.publish((KEY_JULY, "2026-07"))  # June's key retired
    await cache.decode(sign(KEY_JULY, "2026-07"))  # TTL over: refetched
    assert host.hits == 3
    detail = await refused(cache, sign(KEY_JUNE, "2026-06"))
    assert "'2026-06'" in detail
    assert "does not publish" in detail


async def test_unknown_kids_are_refused_after_one_refetch_and_refetches_are_rate_limited(
    cache: JwksCache, host: JwksHost, clock: FakeClock
) -> None:
    await cache.decode(sign(KEY_JUNE, "2026-06"))
    clock.advance(MIN_REFETCH_S + 1)
    for n in range(50):  # a flood of made-up kids
        detail = await refused(cache, sign(STRANGER, f"garbage-{n}"))
        assert "does not publish" in detail
    assert host.hits == 2  # the first unknown kid refetched once; the other 49 did not
    await asyncio.gather(*(refused(cache, sign(STRANGER, f"more-{n}")) for n in range(20)))
    assert host.hits == 2

    clock.advance(MIN_REFETCH_S + 1)
    await refused(cache, sign(STRANGER, "garbage-again"))
    assert host.hits == 3


async def test_a_key_published_within_the_refetch_interval_waits_for_it(
    cache: JwksCache, host: JwksHost, clock: FakeClock
) -> None:
    await cache.decode(sign(KEY_JUNE, "2026-06"))
    host.publish((KEY_JUNE, "2026-06"), (KEY_JULY, "2026-07"))
    await refused(cache, sign(KEY_JULY, "2026-07"))  # the last fetch is too recent
    assert host.hits == 1
    clock.advance(MIN_REFETCH_S + 1)
    await cache.decode(sign(KEY_JULY, "2026-07"))
    assert host.hits == 2


async def test_a_wrong_key_or_a_forged_signature_is_refused(cache: JwksCache) -> None:
    detail = await refused(cache, sign(STRANGER, "2026-06"))  # a listed kid, another key
    assert "signature does not match key '2026-06'" in detail

    header, _, signature = sign(KEY_JUNE, "2026-06").split(".")
    tampered = b64(json.dumps(live_event("logged_out")).encode())
    assert "signature" in await refused(cache, f"{header}.{tampered}.{signature}")


async def test_alg_none_and_hs256_keyed_with_the_public_key_are_refused(
    cache: JwksCache, host: JwksHost
) -> None:
    claims = live_event()
    unsigned = hand_made({"alg": "none", "typ": "JWT", "kid": "2026-06"}, claims, None)
    assert "'none'" in await refused(cache, unsigned)

    pem = KEY_JUNE.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    confused = hand_made({"alg": "HS256", "typ": "JWT", "kid": "2026-06"}, claims, pem)
    assert "'HS256'" in await refused(cache, confused)
    assert host.hits == 0  # refused on the header alone


async def test_missing_kid_and_malformed_tokens_are_refused(cache: JwksCache, host: JwksHost) -> None:
    host.publish((KEY_JUNE, "2026-06"))
    assert "kid" in await refused(cache, sign(KEY_JUNE, None))
    assert "malformed" in await refused(cache, "not-a-jwt")
    assert "malformed" in await refused(cache, "")


@pytest.mark.parametrize(
    ("claims", "reason"),
    [
        ({"exp": -3600}, "expired"),
        ({"nbf": 3600}, "not valid yet"),
        ({"iat": 3600}, "not valid yet"),
    ],
)
async def test_expired_or_premature_tokens_are_refused(
    cache: JwksCache, claims: dict[str, int], reason: str
) -> None:
    now = int(time.time())
    event = live_event("logged_in", **{name: now + offset for name, offset in claims.items()})
    assert reason in await refused(cache, sign(KEY_JUNE, "2026-06", event))


async def test_small_clock_skew_is_tolerated(cache: JwksCache) -> None:
    now = int(time.time())
    event = live_event(iat=now + 5, exp=now - 5)
    assert await cache.decode(sign(KEY_JUNE, "2026-06", event)) == event


async def test_with_the_jwks_host_down_cached_keys_still_verify(
    cache: JwksCache, host: JwksHost, clock: FakeClock
) -> None:
    await cache.decode(sign(KEY_JUNE, "2026-06"))
    host.stop()
    clock.advance(TTL_S + 1)  # a refetch is due, and fails
    event = live_event("submission_created")
    assert await cache.decode(sign(KEY_JUNE, "2026-06", event)) == event
    clock.advance(MIN_REFETCH_S + 1)
    assert "does not publish" in await refused(cache, sign(KEY_JULY, "2026-07"))


async def test_with_the_jwks_host_down_and_no_keys_the_refusal_says_so(
    host: JwksHost, clock: FakeClock
) -> None:
    host.stop()
    async with httpx.AsyncClient() as http:
        keys = JwksCache(host.url, http=http, clock=clock)
        detail = await refused(keys, sign(KEY_JUNE, "2026-06"))
        await keys.aclose()  # a shared client stays open
        assert not http.is_closed
    assert "cannot be fetched" in detail
    assert host.url in detail
