"""xAPI senders, unmodified: ADL's TinCanPython client and Moodle's logstore_xapi.

Each integration is an LRS endpoint (`endpoints.xapi` of the integration's answer). The `tincan`
client (PyPI, ADL) talks to it over real HTTP; Moodle is played by requests shaped exactly as
its loader sends them (xAPI-vle/moodle-logstore_xapi, src/loader/moodle_curl_lrs.php: POST
`correct_endpoint(endpoint) . '/statements'`, `Authorization: Basic`, `X-Experience-API-Version:
1.0.3`, `Content-Type: application/json`, a JSON array of statements without ids, success only on
200).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import uuid
from typing import Any

import httpx
import orjson
from fastapi import FastAPI
from tincan import Activity, Agent, AgentAccount, RemoteLRS, Statement, Verb

from tests.analytics.dataset import integration_events
from tests.fixtures.auth import TokenFactory


async def lrs_integration(analytics: httpx.AsyncClient, auth: TokenFactory, base: str) -> dict[str, Any]:
    """A new integration, created with the request's host being `base` (as the gateway forwards it)."""
    host = base.removeprefix("http://")
    r = await analytics.post(
        f"{base}/api/analytics/integrations",
        headers={**auth("edtech"), "host": host},
        json={"name": "Moodle", "tool_id": str(uuid.uuid4())},
    )
    assert r.status_code == 201, r.text
    return dict(r.json())


def tincan_statement(user: str, verb: str, activity: str, **extra: Any) -> Statement:
    return Statement(
        actor=Agent(account=AgentAccount(home_page="https://moodle.example.edu", name=user)),
        verb=Verb(id=verb),
        object=Activity(id=activity),
        timestamp="2026-03-03T10:00:00Z",
        **extra,
    )


async def test_tincan_client_saves_statements_to_the_integration_endpoint(
    analytics_url: str,
    analytics: httpx.AsyncClient,
    analytics_app: tuple[FastAPI, httpx.AsyncClient],
    auth: TokenFactory,
) -> None:
    integration = await lrs_integration(analytics, auth, analytics_url)
    xapi = integration["endpoints"]["xapi"]
    assert xapi["url"] == f"{analytics_url}/api/analytics/webhooks/{integration['id']}/xapi/"
    lrs = RemoteLRS(endpoint=xapi["url"], username=xapi["username"], password=xapi["password"])

    about = await asyncio.to_thread(lrs.about)
    assert about.success, about.data
    assert "1.0.3" in [str(v) for v in about.content.version]

    # no id: tincan POSTs and takes the id the LRS answers
    single = tincan_statement(
        "u-1", "http://adlnet.gov/expapi/verbs/completed", "https://moodle.example.edu/mod/quiz/1"
    )
    saved = await asyncio.to_thread(lrs.save_statement, single)
    assert saved.success, saved.data
    assert saved.response.status == 200
    assert uuid.UUID(str(single.id))

    # an id: tincan PUTs with ?statementId=, the LRS answers 204
    given = tincan_statement(
        "u-2", "http://adlnet.gov/expapi/verbs/completed", "https://moodle.example.edu/mod/quiz/1"
    )
    given.id = uuid.uuid4()
    put = await asyncio.to_thread(lrs.save_statement, given)
    assert put.success, put.data
    assert put.response.status == 204

    batch = [
        tincan_statement(
            f"u-{n}", "http://adlnet.gov/expapi/verbs/completed", "https://moodle.example.edu/mod/quiz/2"
        )
        for n in (3, 4, 5)
    ]
    saved_batch = await asyncio.to_thread(lrs.save_statements, batch)
    assert saved_batch.success, saved_batch.data
    ids = orjson.loads(saved_batch.data)
    assert len(ids) == 3 and len(set(ids)) == 3

    rows = await integration_events(analytics_app[0], integration["id"])
    assert sorted(r.event_id for r in rows) == sorted([str(single.id), str(given.id), *ids])
    assert sorted(r.user_id for r in rows) == ["u-1", "u-2", "u-3", "u-4", "u-5"]
    assert {r.kind for r in rows} == {"assignment_completed"}
    assert {r.source for r in rows} == {"xapi"}

    # the same statement again is not a second event
    again = await asyncio.to_thread(lrs.save_statement, given)
    assert again.success
    assert len(await integration_events(analytics_app[0], integration["id"])) == 5


async def test_tincan_client_with_a_wrong_secret_is_refused(
    analytics_url: str, analytics: httpx.AsyncClient, auth: TokenFactory
) -> None:
    integration = await lrs_integration(analytics, auth, analytics_url)
    other = await lrs_integration(analytics, auth, analytics_url)
    xapi = integration["endpoints"]["xapi"]
    for username, password in (
        (xapi["username"], "not-the-secret"),
        (xapi["username"], other["endpoints"]["xapi"]["password"]),  # another integration's secret
        (other["id"], other["endpoints"]["xapi"]["password"]),  # another integration's key pair
        (xapi["username"], integration["secret"]),  # the signing secret is not the LRS secret
    ):
        lrs = RemoteLRS(endpoint=xapi["url"], username=username, password=password)
        st = tincan_statement("u-1", "http://adlnet.gov/expapi/verbs/completed", "https://x.example/a")
        r = await asyncio.to_thread(lrs.save_statement, st)
        assert not r.success
        assert r.response.status == 401
        assert r.response.getheader("WWW-Authenticate") == 'Basic realm="xAPI"'
        assert r.response.getheader("X-Experience-API-Version") == "1.0.3"


def basic(xapi: dict[str, Any]) -> str:
    return "Basic " + base64.b64encode(f"{xapi['username']}:{xapi['password']}".encode()).decode()


def moodle_statement(user_id: int, verb: str, obj: str, when: str) -> dict[str, Any]:
    """A statement as logstore_xapi's transformers build it: an account actor (Moodle user id)."""
    return {
        "actor": {
            "name": "Test User",
            "account": {"homePage": "https://moodle.example.edu", "name": str(user_id)},
        },
        "verb": {"id": verb, "display": {"en": "viewed"}},
        "object": {
            "id": obj,
            "definition": {
                "type": "http://id.tincanapi.com/activitytype/lms/course",
                "name": {"en": "Algebra"},
            },
        },
        "timestamp": when,
        "context": {
            "platform": "Moodle",
            "language": "en",
            "extensions": {
                "http://lrs.learninglocker.net/define/extensions/info": {"https://moodle.org": "4.1"}
            },
            "contextActivities": {
                "category": [
                    {
                        "id": "https://moodle.org",
                        "definition": {"type": "http://id.tincanapi.com/activitytype/source"},
                    }
                ]
            },
        },
    }


async def test_moodle_batches_land_once_whatever_the_retries(
    analytics_url: str,
    analytics: httpx.AsyncClient,
    analytics_app: tuple[FastAPI, httpx.AsyncClient],
    auth: TokenFactory,
) -> None:
    integration = await lrs_integration(analytics, auth, analytics_url)
    xapi = integration["endpoints"]["xapi"]
    url = xapi["url"].rstrip("/") + "/statements"  # correct_endpoint() strips the slash
    batch = [
        moodle_statement(
            42,
            "http://id.tincanapi.com/verb/viewed",
            "https://moodle.example.edu/course/view.php?id=2",
            "2026-03-03T10:00:00+00:00",
        ),
        moodle_statement(
            43,
            "http://id.tincanapi.com/verb/viewed",
            "https://moodle.example.edu/course/view.php?id=2",
            "2026-03-03T10:01:00+00:00",
        ),
    ]
    headers = {
        "Authorization": basic(xapi),
        "X-Experience-API-Version": "1.0.3",
        "Content-Type": "application/json",
    }
    async with httpx.AsyncClient() as client:
        first = await client.post(url, content=orjson.dumps(batch), headers=headers)
        assert first.status_code == 200, first.text
        assert first.headers["x-experience-api-version"] == "1.0.3"
        ids = first.json()
        assert len(ids) == 2 and all(uuid.UUID(i) for i in ids)
        # Moodle retries a batch it could not confirm: the same statements, still without ids
        retry = await client.post(url, content=orjson.dumps(batch), headers=headers)
        assert retry.status_code == 200
        assert retry.json() == ids
    rows = await integration_events(analytics_app[0], integration["id"])
    assert sorted(r.event_id for r in rows) == sorted(ids)


async def test_lrs_refusals_follow_the_xapi_rules(
    analytics_url: str,
    analytics: httpx.AsyncClient,
    analytics_app: tuple[FastAPI, httpx.AsyncClient],
    auth: TokenFactory,
) -> None:
    integration = await lrs_integration(analytics, auth, analytics_url)
    xapi = integration["endpoints"]["xapi"]
    url = xapi["url"] + "statements"
    good = moodle_statement(
        42, "http://adlnet.gov/expapi/verbs/completed", "https://m.example/q", "2026-03-03T10:00:00Z"
    )
    headers = {"Authorization": basic(xapi), "Content-Type": "application/json"}
    async with httpx.AsyncClient() as client:
        # the version header is required and must be one we speak
        r = await client.post(url, content=orjson.dumps(good), headers=headers)
        assert r.status_code == 400 and "X-Experience-API-Version" in r.json()["detail"]
        r = await client.post(
            url, content=orjson.dumps(good), headers={**headers, "X-Experience-API-Version": "0.95"}
        )
        assert r.status_code == 400
        v2 = {**headers, "X-Experience-API-Version": "2.0.0"}
        r = await client.post(url, content=orjson.dumps(good), headers=v2)
        assert r.status_code == 200 and r.headers["x-experience-api-version"] == "2.0.0"
        v1 = {**headers, "X-Experience-API-Version": "1.0.3"}
        # a batch with one invalid statement is refused whole, naming it; nothing is stored
        before = len(await integration_events(analytics_app[0], integration["id"]))
        bad = {k: v for k, v in good.items() if k != "verb"}
        fresh = moodle_statement(
            44, "http://adlnet.gov/expapi/verbs/completed", "https://m.example/q", "2026-03-03T11:00:00Z"
        )
        r = await client.post(url, content=orjson.dumps([fresh, bad]), headers=v1)
        assert r.status_code == 400, r.text
        assert r.json()["errors"][0]["field"] == "[1].verb.id"
        assert len(await integration_events(analytics_app[0], integration["id"])) == before
        # statement ids are UUIDs; PUT needs statementId and an agreeing body
        r = await client.post(url, content=orjson.dumps({**fresh, "id": "not-a-uuid"}), headers=v1)
        assert r.status_code == 400 and r.json()["errors"][0]["field"] == "[0].id"
        r = await client.put(url, content=orjson.dumps(fresh), headers=v1)
        assert r.status_code == 400 and r.json()["errors"][0]["field"] == "statementId"
        r = await client.put(
            url,
            params={"statementId": str(uuid.uuid4())},
            content=orjson.dumps({**fresh, "id": str(uuid.uuid4())}),
            headers=v1,
        )
        assert r.status_code == 400 and r.json()["errors"][0]["field"] == "id"
        # not JSON, no credentials, a read of statements
        r = await client.post(url, content=b"<x/>", headers={**v1, "Content-Type": "application/xml"})
        assert r.status_code == 415
        r = await client.post(url, content=orjson.dumps(fresh), headers={"X-Experience-API-Version": "1.0.3"})
        assert r.status_code == 401 and r.headers["www-authenticate"] == 'Basic realm="xAPI"'
        r = await client.get(url, headers=v1)
        assert r.status_code == 405
        assert r.headers["x-experience-api-version"] == "1.0.3"


async def test_about_answers_in_the_version_asked(
    analytics_url: str, analytics: httpx.AsyncClient, auth: TokenFactory
) -> None:
    integration = await lrs_integration(analytics, auth, analytics_url)
    url = integration["endpoints"]["xapi"]["url"] + "about"
    async with httpx.AsyncClient() as client:
        r = await client.get(url, headers={"X-Experience-API-Version": "2.0.0"})
        assert r.status_code == 200 and r.headers["x-experience-api-version"] == "2.0.0"
        assert "2.0.0" in r.json()["version"] and "1.0.3" in r.json()["version"]
        r = await client.get(url)  # About needs neither credentials nor a version header
        assert r.status_code == 200 and r.headers["x-experience-api-version"] == "1.0.3"
        r = await client.get(url, headers={"X-Experience-API-Version": "1.0.1"})
        assert r.json() == {"version": ["1.0.0", "1.0.1", "1.0.2", "1.0.3"]}


async def test_statements_with_attachments_come_as_multipart_mixed(
    analytics_url: str,
    analytics: httpx.AsyncClient,
    analytics_app: tuple[FastAPI, httpx.AsyncClient],
    auth: TokenFactory,
) -> None:
    """xAPI 1.0.3 Part Two 2.4.11: the statements first, then each attachment with its SHA-256."""
    integration = await lrs_integration(analytics, auth, analytics_url)
    xapi = integration["endpoints"]["xapi"]
    certificate = b"%PDF-1.4 a certificate of completion"
    digest = hashlib.sha256(certificate).hexdigest()
    st = moodle_statement(
        42, "http://adlnet.gov/expapi/verbs/completed", "https://m.example/c", "2026-03-03T10:00:00Z"
    )
    st["attachments"] = [
        {
            "usageType": "http://id.tincanapi.com/attachment/certificate-of-completion",
            "display": {"en-US": "Certificate"},
            "contentType": "application/pdf",
            "length": len(certificate),
            "sha2": digest,
        }
    ]

    def multipart(attachment: bytes, sha2: str) -> bytes:
        return b"\r\n".join(
            [
                b"--xapi-boundary",
                b"Content-Type: application/json",
                b"",
                orjson.dumps([st]),
                b"--xapi-boundary",
                b"Content-Type: application/pdf",
                b"Content-Transfer-Encoding: binary",
                b"X-Experience-API-Hash: " + sha2.encode(),
                b"",
                attachment,
                b"--xapi-boundary--",
                b"",
            ]
        )

    headers = {
        "Authorization": basic(xapi),
        "X-Experience-API-Version": "1.0.3",
        "Content-Type": 'multipart/mixed; boundary="xapi-boundary"',
    }
    async with httpx.AsyncClient() as client:
        url = xapi["url"] + "statements"
        r = await client.post(url, content=multipart(b"tampered", digest), headers=headers)
        assert r.status_code == 400 and "X-Experience-API-Hash" in r.json()["detail"]
        r = await client.post(url, content=multipart(certificate, "0" * 64), headers=headers)
        assert r.status_code == 400
        assert await integration_events(analytics_app[0], integration["id"]) == []
        r = await client.post(url, content=multipart(certificate, digest), headers=headers)
        assert r.status_code == 200, r.text
    (event,) = await integration_events(analytics_app[0], integration["id"])
    assert event.event_id == r.json()[0] and event.kind == "assignment_completed"
