"""IMS Caliper, xAPI and Canvas Live Events webhooks: valid, invalid and duplicated payloads."""

from __future__ import annotations

import time
import uuid
from typing import Any

import httpx
import jwt
from fastapi import FastAPI
from sqlalchemy import select

from services.analytics.ingest.signing import secret_key
from services.analytics.models import UsageEvent
from tests.analytics.conftest import Poster

V1P1 = "http://purl.imsglobal.org/ctx/caliper/v1p1"
V1P2 = "http://purl.imsglobal.org/ctx/caliper/v1p2"


async def stored(app: FastAPI, district: str) -> list[UsageEvent]:
    async with app.state.runtime.db.transaction() as session:
        rows = await session.scalars(
            select(UsageEvent)
            .where(UsageEvent.district_id == district)
            .order_by(UsageEvent.occurred_at, UsageEvent.event_id)
        )
        return list(rows.all())


def caliper_event(etype: str, action: str, **extra: Any) -> dict[str, Any]:
    """A Caliper event by user u-17 in section sec-1."""
    return {
        "@context": V1P2,
        "id": f"urn:uuid:{uuid.uuid4()}",
        "type": etype,
        "action": action,
        "actor": {"id": "https://lms.example.edu/users/u-17", "type": "Person"},
        "object": {"id": "https://lms.example.edu/assignments/9", "type": "Assessment", "name": "Quiz 9"},
        "eventTime": "2026-03-03T10:00:00.000Z",
        "group": {"id": "https://lms.example.edu/sections/sec-1"},
        **extra,
    }


def envelope(data: list[Any], version: str = V1P2) -> dict[str, Any]:
    return {
        "sensor": "https://lms.example.edu/sensors/1",
        "sendTime": "2026-03-03T10:00:01.000Z",
        "dataVersion": version,
        "data": data,
    }


async def test_caliper_envelope_maps_each_profile(
    post_signed: Poster, analytics_app: tuple[FastAPI, httpx.AsyncClient], district: str
) -> None:
    events = [
        caliper_event("SessionEvent", "LoggedIn"),
        caliper_event("SessionEvent", "LoggedOut"),
        caliper_event("AssignableEvent", "Started"),
        caliper_event("AssignableEvent", "Submitted"),
        caliper_event("AssignableEvent", "Completed"),
        caliper_event(
            "ToolUseEvent", "Used", target={"id": "urn:x:feature/whiteboard", "name": "whiteboard"}
        ),
        caliper_event("NavigationEvent", "NavigatedTo"),
        caliper_event("ViewEvent", "Viewed"),
    ]
    r = await post_signed("caliper", envelope(events), content_type="application/ld+json")
    assert r.status_code == 200, r.text
    assert r.json()["accepted"] == 8
    rows = {row.event_id: row for row in await stored(analytics_app[0], district)}
    kinds = [rows[e["id"]].kind for e in events]
    assert kinds == [
        "login",
        "logout",
        "assignment_started",
        "assignment_submitted",
        "assignment_completed",
        "feature_used",
        "navigated",
        "viewed",
    ]
    used = rows[events[5]["id"]]
    assert (used.user_id, used.class_id, used.feature, used.source) == (
        "u-17",
        "sec-1",
        "whiteboard",
        "caliper",
    )
    again = await post_signed("caliper", envelope(events[:2], V1P1))
    assert again.json() == {"accepted": 0, "duplicates": 2, "rejected": [], "replay": False}


async def test_caliper_invalid_payloads(post_signed: Poster) -> None:
    r = await post_signed(
        "caliper",
        envelope([caliper_event("SessionEvent", "LoggedIn")], "http://purl.imsglobal.org/ctx/caliper/v1p0"),
    )
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "dataVersion"
    # Caliper 1.2 section 6.1: a malformed envelope is a 400, an unsupported dataVersion a 422
    r = await post_signed("caliper", {"sensor": "s", "sendTime": "2026-03-03T10:00:01Z", "data": []})
    assert r.status_code == 400
    assert r.json()["errors"][0]["field"] == "dataVersion"
    r = await post_signed("caliper", [caliper_event("SessionEvent", "LoggedIn")])
    assert r.status_code == 400
    r = await post_signed(
        "caliper", envelope([caliper_event("SessionEvent", "LoggedIn")]), content_type="application/xml"
    )
    assert r.status_code == 415
    good = caliper_event("SessionEvent", "LoggedIn")
    no_time = caliper_event("SessionEvent", "LoggedIn")
    del no_time["eventTime"]
    r = await post_signed("caliper", envelope([good, no_time, {"id": "p", "type": "Person"}]))
    assert r.status_code == 207
    rejected = r.json()["rejected"]
    assert [(x["index"], x["errors"][0]["field"]) for x in rejected] == [(1, "eventTime"), (2, "type")]


def statement(verb: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "actor": {"account": {"homePage": "https://lms.example", "name": "u-5"}},
        "verb": {"id": verb},
        "object": {
            "id": "https://lms.example/activities/graph-tool",
            "definition": {"name": {"en-US": "graphing"}},
        },
        "timestamp": "2026-03-04T09:00:00Z",
        **extra,
    }


async def test_xapi_statements_single_and_array(
    post_signed: Poster, analytics_app: tuple[FastAPI, httpx.AsyncClient], district: str
) -> None:
    login = statement("https://w3id.org/xapi/adl/verbs/logged-in")
    r = await post_signed("xapi", login)
    assert r.status_code == 200, r.text
    batch = [
        statement("http://adlnet.gov/expapi/verbs/logged-in"),
        statement("http://activitystrea.ms/schema/1.0/submit"),
        statement("http://adlnet.gov/expapi/verbs/experienced", result={"duration": "PT1M30S"}),
        {
            "actor": {"mbox": "mailto:t@example.org"},
            "verb": {"id": "http://adlnet.gov/expapi/verbs/logged-in"},
            "object": {"id": "https://lms.example"},
            "timestamp": "2026-03-04T10:00:00Z",
        },
        {"actor": {}, "verb": {"id": "x"}, "object": {}},
    ]
    r = await post_signed("xapi", batch)
    assert r.status_code == 207
    assert r.json()["accepted"] == 4
    assert r.json()["rejected"][0]["index"] == 4
    rows = await stored(analytics_app[0], district)
    by_kind = sorted((row.kind, row.user_id, row.feature, row.duration_s) for row in rows)
    assert by_kind == [  # `experienced` is viewing content (ADL), not a feature named after it
        ("assignment_submitted", "u-5", None, None),
        ("login", "t@example.org", None, None),
        ("login", "u-5", None, None),
        ("login", "u-5", None, None),
        ("viewed", "u-5", None, 90.0),
    ]
    # a statement without id is de-duplicated by its content
    r = await post_signed("xapi", batch[3])
    assert r.json()["duplicates"] == 1
    r = await post_signed("xapi", login)
    assert r.json()["duplicates"] == 1
    r = await post_signed("xapi", {"actor": {"name": "x"}, "verb": {"id": "v"}, "object": {"id": "o"}})
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "actor"


def canvas(name: str, **meta: Any) -> dict[str, Any]:
    return {
        "metadata": {
            "event_name": name,
            "event_time": "2026-03-05T12:00:00.000Z",
            "user_id": "21070000000000042",
            "user_sis_id": "u-9",
            "context_type": "Course",
            "context_id": "sec-2",
            "event_id": str(uuid.uuid4()),
            **meta,
        },
        "body": {"asset_type": "wiki_page", "user_id": "21070000000000042"},
    }


async def test_canvas_live_events_json_and_jwt(
    post_signed: Poster,
    analytics_app: tuple[FastAPI, httpx.AsyncClient],
    district: str,
    integration: dict[str, Any],
) -> None:
    events = [
        canvas("logged_in"),
        canvas("submission_created"),
        canvas("asset_accessed"),
        canvas("discussion_topic_created"),
    ]
    r = await post_signed("canvas", events)
    assert r.status_code == 200, r.text
    assert r.json()["accepted"] == 4
    rows = {row.event_id: row for row in await stored(analytics_app[0], district)}
    mapped = [(rows[e["metadata"]["event_id"]].kind, rows[e["metadata"]["event_id"]].feature) for e in events]
    assert mapped == [
        ("login", None),
        ("assignment_submitted", None),
        ("viewed", "wiki_page"),
        ("feature_used", "discussion_topic_created"),
    ]
    assert {row.user_id for row in rows.values()} == {"u-9"}
    assert {row.class_id for row in rows.values()} == {"sec-2"}
    token = jwt.encode(canvas("logged_out"), secret_key(integration["secret"]), algorithm="HS256")
    r = await post_signed("canvas", None, raw=token.encode(), content_type="application/jwt")
    assert r.status_code == 200, r.text
    assert r.json()["accepted"] == 1
    forged = jwt.encode(canvas("logged_out"), b"not-the-key-of-this-integration!", algorithm="HS256")
    r = await post_signed("canvas", None, raw=forged.encode(), content_type="application/jwt")
    assert r.status_code == 401
    r = await post_signed("canvas", events[:1])
    assert r.json()["duplicates"] == 1
    r = await post_signed("canvas", {"metadata": {"event_time": "2026-03-05T12:00:00Z"}})
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "metadata.event_name"


async def test_stale_signature_is_refused_for_every_format(post_signed: Poster) -> None:
    stale = int(time.time()) - 3600
    for fmt, payload in (
        ("caliper", envelope([])),
        ("xapi", statement("v")),
        ("canvas", canvas("logged_in")),
    ):
        r = await post_signed(fmt, payload, timestamp=stale)
        assert r.status_code == 401, fmt
