"""Platform JSON webhooks: signatures, replays, duplicates, malformed items, body cap."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
import uuid
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import func, select

from services.analytics.counting.service import count_all
from services.analytics.ingest.repository import IngestRepository
from services.analytics.models import UsageDaily, UsageEvent, UsagePending, WebhookDelivery
from shared.db import utcnow
from tests.analytics.conftest import Poster, sign_request
from tests.fixtures.auth import TokenFactory


def event(**overrides: Any) -> dict[str, Any]:
    """A valid platform event."""
    return {
        "event_id": f"ev-{uuid.uuid4().hex}",
        "type": "login",
        "occurred_at": "2026-03-02T08:00:00Z",
        "user_id": "s1",
        **overrides,
    }


async def count_events(app: FastAPI, district: str) -> int:
    async with app.state.runtime.db.transaction() as session:
        return int(
            await session.scalar(
                select(func.count()).select_from(UsageEvent).where(UsageEvent.district_id == district)
            )
            or 0
        )


async def test_single_event_is_stored_with_the_integration_tool(
    post_signed: Poster,
    analytics_app: tuple[FastAPI, httpx.AsyncClient],
    district: str,
    integration: dict[str, Any],
) -> None:
    r = await post_signed("events", event(event_id="e1", type="feature_used", feature="quiz"))
    assert r.status_code == 200, r.text
    assert r.json() == {"accepted": 1, "duplicates": 0, "rejected": [], "replay": False}
    db = analytics_app[0].state.runtime.db
    async with db.transaction() as session:  # appended and queued; nothing counted on the request path
        row = (
            await session.execute(select(UsageEvent).where(UsageEvent.district_id == district))
        ).scalar_one()
        queued = (
            await session.execute(select(UsagePending).where(UsagePending.district_id == district))
        ).scalar_one()
        assert (
            await session.execute(select(UsageDaily).where(UsageDaily.district_id == district))
        ).all() == []
    assert (queued.event_id, queued.kind, queued.feature, str(queued.day)) == (
        "e1",
        "feature_used",
        "quiz",
        "2026-03-02",
    )
    await count_all(db)
    async with db.transaction() as session:
        daily = (
            await session.execute(select(UsageDaily).where(UsageDaily.district_id == district))
        ).scalar_one()
        assert (
            await session.execute(select(UsagePending).where(UsagePending.district_id == district))
        ).all() == []
    assert (row.tool_id, row.kind, row.feature, row.source) == (
        integration["tool_id"],
        "feature_used",
        "quiz",
        "events",
    )
    assert (daily.events, daily.feature, str(daily.week), str(daily.month)) == (
        1,
        "quiz",
        "2026-03-02",
        "2026-03-01",
    )


async def test_batch_counts_duplicates_and_reports_malformed_by_index(
    post_signed: Poster, analytics_app: tuple[FastAPI, httpx.AsyncClient], district: str
) -> None:
    first = await post_signed("events", {"events": [event(event_id="a"), event(event_id="b")]})
    assert first.json()["accepted"] == 2
    batch = [
        event(event_id="b"),
        event(event_id="c"),
        event(event_id="c"),
        {"event_id": "d", "type": "login"},
        event(event_id="e", type="nope"),
    ]
    r = await post_signed("events", batch)
    assert r.status_code == 207, r.text
    body = r.json()
    assert (body["accepted"], body["duplicates"]) == (1, 2)
    assert [x["index"] for x in body["rejected"]] == [3, 4]
    assert {e["field"] for e in body["rejected"][0]["errors"]} == {"occurred_at", "user_id"}
    assert body["rejected"][1]["errors"][0]["field"] == "type"
    assert await count_events(analytics_app[0], district) == 3
    await count_all(analytics_app[0].state.runtime.db)
    async with analytics_app[0].state.runtime.db.transaction() as session:
        total = await session.scalar(
            select(func.sum(UsageDaily.events)).where(UsageDaily.district_id == district)
        )
    assert total == 3


async def test_single_malformed_event_is_422_naming_the_field(post_signed: Poster) -> None:
    r = await post_signed("events", event(type="feature_used"))
    assert r.status_code == 422
    assert r.headers["content-type"] == "application/problem+json"
    assert "feature is required" in r.json()["detail"]
    r = await post_signed("events", [{"event_id": "x"}])
    assert r.status_code == 422
    assert r.json()["rejected"][0]["index"] == 0
    r = await post_signed("events", None, raw=b"{not json")
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "body"


async def test_bound_integration_refuses_another_tool(post_signed: Poster) -> None:
    r = await post_signed("events", [event(), event(tool_id=str(uuid.uuid4()))])
    assert r.status_code == 207
    assert r.json()["rejected"][0]["errors"][0]["field"] == "tool_id"


async def test_bad_signature_and_stale_timestamp_are_401(
    post_signed: Poster,
    analytics: httpx.AsyncClient,
    integration: dict[str, Any],
    analytics_app: tuple[FastAPI, httpx.AsyncClient],
    district: str,
) -> None:
    wrong = "whsec_" + "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo="
    r = await post_signed("events", event(), secret=wrong)
    assert r.status_code == 401
    assert "does not match" in r.json()["detail"]
    r = await post_signed("events", event(), timestamp=int(time.time()) - 301)
    assert r.status_code == 401
    assert "stale" in r.json()["detail"]
    body = b'{"event_id": "z", "type": "login", "occurred_at": "2026-03-02T08:00:00Z", "user_id": "s"}'
    headers = sign_request(integration["secret"], body)
    tampered = body.replace(b'"s"', b'"t"')
    r = await analytics.post(
        f"/api/analytics/webhooks/{integration['id']}/events",
        content=tampered,
        headers={**headers, "content-type": "application/json"},
    )
    assert r.status_code == 401
    r = await analytics.post(
        f"/api/analytics/webhooks/{integration['id']}/events",
        content=body,
        headers={"content-type": "application/json"},
    )
    assert r.status_code == 401
    r = await analytics.post(
        f"/api/analytics/webhooks/{uuid.uuid4()}/events",
        content=body,
        headers={**headers, "content-type": "application/json"},
    )
    assert r.status_code == 401
    assert await count_events(analytics_app[0], district) == 0


async def test_replayed_webhook_id_has_no_second_effect(
    post_signed: Poster, analytics_app: tuple[FastAPI, httpx.AsyncClient], district: str
) -> None:
    r1 = await post_signed("events", [event(event_id="r1")], webhook_id="msg_replay")
    r2 = await post_signed("events", [event(event_id="r2")], webhook_id="msg_replay")
    assert r1.json()["accepted"] == 1
    assert r2.status_code == 200
    assert r2.json() == {"accepted": 0, "duplicates": 0, "rejected": [], "replay": True}
    assert await count_events(analytics_app[0], district) == 1


async def test_body_over_the_cap_is_413(post_signed: Poster) -> None:
    big = b'{"events": [' + b" " * (10 * 1024 * 1024) + b"]}"
    r = await post_signed("events", None, raw=big)
    assert r.status_code == 413
    assert r.headers["content-type"] == "application/problem+json"


async def test_wrong_content_type_is_415(post_signed: Poster) -> None:
    r = await post_signed("events", event(), content_type="text/csv")
    assert r.status_code == 415


async def test_rotated_secret_keeps_the_old_one_during_grace(
    post_signed: Poster, analytics: httpx.AsyncClient, auth: TokenFactory, integration: dict[str, Any]
) -> None:
    r = await analytics.post(
        f"/api/analytics/integrations/{integration['id']}/rotate-secret", headers=auth("edtech")
    )
    assert r.status_code == 200, r.text
    new_secret = r.json()["secret"]
    assert new_secret != integration["secret"]
    assert (await post_signed("events", event(), secret=integration["secret"])).status_code == 200
    assert (await post_signed("events", event(), secret=new_secret)).status_code == 200
    r = await analytics.post(
        f"/api/analytics/integrations/{integration['id']}/disable", headers=auth("admin")
    )
    assert r.json()["enabled"] is False
    assert (await post_signed("events", event(), secret=new_secret)).status_code == 401


async def test_integrations_are_managed_by_edtech_and_scoped(
    analytics: httpx.AsyncClient, auth: TokenFactory, integration: dict[str, Any]
) -> None:
    r = await analytics.get("/api/analytics/integrations", headers=auth("edtech"))
    assert r.json()["total"] == 1
    assert "secret" not in r.json()["items"][0]
    assert (await analytics.get("/api/analytics/integrations", headers=auth("teacher"))).status_code == 403
    other = await analytics.post(
        f"/api/analytics/integrations/{integration['id']}/disable",
        headers=auth("edtech", district_id="elsewhere"),
    )
    assert other.status_code == 404


async def test_concurrent_deliveries_are_grouped_without_losing_or_doubling(
    post_signed: Poster, analytics_app: tuple[FastAPI, httpx.AsyncClient], district: str
) -> None:
    singles = [post_signed("events", event(event_id=f"c{i}", user_id=f"u{i % 5}")) for i in range(60)]
    same_event = [post_signed("events", event(event_id="shared")) for _ in range(4)]
    same_webhook = [post_signed("events", [event(event_id=f"w{i}")], webhook_id="msg_same") for i in range(3)]
    answers = await asyncio.gather(*singles, *same_event, *same_webhook)
    assert all(a.status_code == 200 for a in answers)
    bodies = [a.json() for a in answers]
    assert all(b["accepted"] == 1 for b in bodies[:60])
    assert sorted(b["accepted"] for b in bodies[60:64]) == [0, 0, 0, 1]
    assert sorted(b["replay"] for b in bodies[64:]) == [False, True, True]
    assert await count_events(analytics_app[0], district) == 60 + 1 + 1
    await count_all(analytics_app[0].state.runtime.db)
    async with analytics_app[0].state.runtime.db.transaction() as session:
        total = await session.scalar(
            select(func.sum(UsageDaily.events)).where(UsageDaily.district_id == district)
        )
    assert total == 62


async def test_old_webhook_ids_are_purged(
    post_signed: Poster, analytics_app: tuple[FastAPI, httpx.AsyncClient], integration: dict[str, Any]
) -> None:
    await post_signed("events", event(), webhook_id="msg_old")
    runtime = analytics_app[0].state.runtime
    key = (uuid.UUID(integration["id"]), "msg_old")
    async with runtime.db.transaction() as session:
        assert await session.get(WebhookDelivery, key) is not None
        await IngestRepository(session).purge_deliveries(before=utcnow() - dt.timedelta(minutes=1))
        assert await session.get(WebhookDelivery, key) is not None
        assert (
            await IngestRepository(session).purge_deliveries(before=utcnow() + dt.timedelta(seconds=1)) >= 1
        )
    async with runtime.db.transaction() as session:
        assert await session.get(WebhookDelivery, key) is None
