"""Caliper sensors and Canvas Live Events, unmodified, and Standard Webhooks as the reference signs.

- Caliper: requests exactly as the Caliper 1.2 specification (section 5.4 HTTP Requests, 6.1 HTTP
  Responses, 6.2 Configuration Information; IMSGlobal/caliper-spec caliper-spec-v1p2.html) shows
  them: `POST` an envelope with `Authorization: Bearer <token>` and `Content-Type:
  application/json`; `GET` for the endpoint's configuration.
- Canvas: Live Events delivered over HTTPS as Instructure documents the subscription (canvas-lms
  doc/api/data_services/md/static/data_service_setup.md): a plain JSON event, or with "Sign Payload"
  a JWT signed RS256 by Instructure's monthly-rotated keys, here served by a JWKS on loopback.
- Standard Webhooks: the `standardwebhooks` package (the specification's reference library) signs
  our platform format, and verifies what our own signer produces.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import jwt
import orjson
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import FastAPI
from standardwebhooks import Webhook

from services.analytics.ingest.signing import signed_headers
from tests.analytics.dataset import integration_events
from tests.analytics.test_webhooks_formats import V1P1, V1P2, caliper_event, envelope
from tests.fixtures.auth import TokenFactory
from tests.fixtures.jwks_host import JwksHost
from tests.fixtures.services import AppFactory

KEY_MAY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
KEY_JUNE = rsa.generate_private_key(public_exponent=65537, key_size=2048)
STRANGER = rsa.generate_private_key(public_exponent=65537, key_size=2048)


# --- Caliper -------------------------------------------------------------------------------


async def test_caliper_sensor_with_its_bearer_token(
    analytics: httpx.AsyncClient,
    analytics_app: tuple[FastAPI, httpx.AsyncClient],
    integration: dict[str, Any],
) -> None:
    caliper = integration["endpoints"]["caliper"]
    url = caliper["url"]
    assert url.endswith(f"/api/analytics/webhooks/{integration['id']}/caliper")
    bearer = {"Authorization": f"Bearer {caliper['token']}"}

    # 6.2: a GET with the sensor's authorization answers the configuration
    r = await analytics.get(url, headers=bearer)
    assert r.status_code == 200
    config = r.json()
    assert set(config) <= {
        "caliperMaximumPayloadSize",
        "caliperSupportedVersions",
        "caliperSupportedExtensions",
    }
    assert config["caliperSupportedVersions"] == [V1P1, V1P2]
    assert config["caliperMaximumPayloadSize"] == 5 * 1024
    r = await analytics.get(url)
    assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"

    # 5.4: POST one envelope, Bearer and application/json
    event = caliper_event("SessionEvent", "LoggedIn")
    r = await analytics.post(
        url, content=orjson.dumps(envelope([event])), headers={**bearer, "Content-Type": "application/json"}
    )
    assert r.status_code == 200, r.text
    rows = await integration_events(analytics_app[0], integration["id"])
    assert [(e.kind, e.user_id, e.source) for e in rows] == [("login", "u-17", "caliper")]

    # 6.1: the refusals the specification assigns
    def post(body: Any, **headers: str) -> Any:
        return analytics.post(
            url, content=orjson.dumps(body), headers={**bearer, "Content-Type": "application/json", **headers}
        )

    r = await post([event])  # events without an envelope
    assert r.status_code == 400
    r = await post({"sensor": "s", "sendTime": "2026-03-03T10:00:01Z", "dataVersion": V1P2})  # no data
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "data"
    r = await post(envelope([event], "http://purl.imsglobal.org/ctx/caliper/v1p0"))
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "dataVersion"
    r = await post(envelope([event]), **{"Content-Type": "text/plain"})
    assert r.status_code == 415
    r = await post(envelope([event]), Authorization="Bearer not-the-token")
    assert r.status_code == 401
    r = await post(envelope([event]), Authorization=f"Bearer {integration['secret']}")
    assert r.status_code == 401  # the signing secret is not the Caliper token
    assert len(await integration_events(analytics_app[0], integration["id"])) == 1


async def test_rotation_rotates_every_credential_with_a_grace_period(
    analytics: httpx.AsyncClient, integration: dict[str, Any], auth: TokenFactory
) -> None:
    old = integration["endpoints"]
    r = await analytics.post(
        f"/api/analytics/integrations/{integration['id']}/rotate-secret", headers=auth("edtech")
    )
    assert r.status_code == 200
    new = r.json()["endpoints"]
    assert new["caliper"]["token"] != old["caliper"]["token"]
    assert new["xapi"]["password"] != old["xapi"]["password"]
    assert new["canvas"]["url"] != old["canvas"]["url"]
    event = envelope([caliper_event("SessionEvent", "LoggedIn")])
    for token in (old["caliper"]["token"], new["caliper"]["token"]):  # the old one within its grace period
        r = await analytics.post(
            new["caliper"]["url"],
            content=orjson.dumps(event),
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        )
        assert r.status_code == 200, r.text


# --- Canvas ------------------------------------------------------------------------------


def live_event(
    name: str, *, user_id: str = "21070000000000042", sis_id: str | None = "u-9"
) -> dict[str, Any]:
    """A Canvas live event shaped as the canvas-lms event-type docs show it (metadata + body)."""
    metadata: dict[str, Any] = {
        "event_name": name,
        "event_time": "2026-03-05T12:00:00.000Z",
        "hostname": "district.instructure.com",
        "producer": "canvas",
        "root_account_id": "21070000000000001",
        "root_account_uuid": "VicYj3cu5BIFpoZhDVU4DZumnlBrWi1grgJEzADs",
        "user_id": user_id,
        "user_login": "jdoe",
        "context_type": "Course",
        "context_id": "21070000000000007",
        "event_id": str(uuid.uuid4()),
    }
    if sis_id:
        metadata["user_sis_id"] = sis_id
    return {"metadata": metadata, "body": {"redirect_url": "https://district.instructure.com/"}}


@pytest.fixture
def jwks() -> Iterator[JwksHost]:
    host = JwksHost()
    host.publish((KEY_MAY, "2026-05"))
    yield host
    host.stop()


@pytest.fixture
async def canvas_app(
    service_app: AppFactory, jwks: JwksHost
) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    """The analytics service trusting Instructure's keys as served by `jwks`."""
    async with service_app(
        "analytics",
        integration_cache_ttl_s=0,
        canvas_jwks_url=jwks.url,
        canvas_jwks_min_refetch_s=0,
        public_url="https://edtech.district.example/",
    ) as app:
        yield app


async def test_canvas_deliveries_plain_and_signed_by_rotating_keys(
    canvas_app: tuple[FastAPI, httpx.AsyncClient], jwks: JwksHost, auth: TokenFactory
) -> None:
    app, client = canvas_app
    r = await client.post("/api/analytics/integrations", headers=auth("edtech"), json={"name": "Canvas"})
    integration = r.json()
    url = integration["endpoints"]["canvas"]["url"]
    # the URL Canvas is given is the platform's public one (ANALYTICS_PUBLIC_URL), whatever the Host
    assert url.startswith(
        f"https://edtech.district.example/api/analytics/webhooks/{integration['id']}/canvas/"
    )

    plain = live_event("logged_in")
    r = await client.post(url, json=plain)
    assert r.status_code == 200, r.text
    may = jwt.encode(live_event("asset_accessed"), KEY_MAY, algorithm="RS256", headers={"kid": "2026-05"})
    r = await client.post(url, content=may, headers={"Content-Type": "application/jwt"})
    assert r.status_code == 200, r.text
    assert jwks.hits == 1

    # Instructure rotates: June's key appears, May's stays listed a while
    jwks.publish((KEY_MAY, "2026-05"), (KEY_JUNE, "2026-06"))
    june = jwt.encode(live_event("logged_in"), KEY_JUNE, algorithm="RS256", headers={"kid": "2026-06"})
    r = await client.post(url, content=june, headers={"Content-Type": "application/jwt"})
    assert r.status_code == 200, r.text
    assert jwks.hits == 2
    rows = await integration_events(app, integration["id"])
    assert sorted((e.kind, e.user_id) for e in rows) == [
        ("login", "u-9"),
        ("login", "u-9"),
        ("viewed", "u-9"),
    ]

    # refusals: a key Instructure does not list, a wrong URL token, no token, HS256 with the public key
    forged = jwt.encode(live_event("logged_in"), STRANGER, algorithm="RS256", headers={"kid": "2026-06"})
    r = await client.post(url, content=forged, headers={"Content-Type": "application/jwt"})
    assert r.status_code == 401
    unknown = jwt.encode(live_event("logged_in"), STRANGER, algorithm="RS256", headers={"kid": "2099-01"})
    r = await client.post(url, content=unknown, headers={"Content-Type": "application/jwt"})
    assert r.status_code == 401 and "2099-01" in r.json()["detail"]
    base = url.rsplit("/", 1)[0]
    r = await client.post(f"{base}/not-the-token", json=plain)
    assert r.status_code == 401
    r = await client.post(base, json=plain)
    assert r.status_code == 401
    assert len(await integration_events(app, integration["id"])) == 3


# --- Standard Webhooks ---------------------------------------------------------------------


async def test_the_reference_library_signs_what_we_verify_and_verifies_what_we_sign(
    analytics: httpx.AsyncClient,
    analytics_app: tuple[FastAPI, httpx.AsyncClient],
    integration: dict[str, Any],
) -> None:
    hook = Webhook(integration["secret"])
    body = orjson.dumps(
        {
            "event_id": f"e-{uuid.uuid4()}",
            "type": "login",
            "occurred_at": "2026-03-03T10:00:00Z",
            "user_id": "s1",
        }
    )
    msg_id = f"msg_{uuid.uuid4().hex}"
    now = dt.datetime.now(dt.UTC)
    headers = {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": hook.sign(msg_id, now, body),
        "content-type": "application/json",
    }
    r = await analytics.post(
        f"/api/analytics/webhooks/{integration['id']}/events", content=body, headers=headers
    )
    assert r.status_code == 200, r.text
    assert r.json()["accepted"] == 1
    # our signer (what our senders and the tests use) passes the reference verification
    ours = signed_headers(integration["secret"], msg_id, int(now.timestamp()), body)
    assert hook.verify(body, ours) == orjson.loads(body)
    # and the reference refuses what we refuse: a tampered body
    r = await analytics.post(
        f"/api/analytics/webhooks/{integration['id']}/events",
        content=body.replace(b"s1", b"s2"),
        headers=headers,
    )
    assert r.status_code == 401
    assert len(await integration_events(analytics_app[0], integration["id"])) == 1
