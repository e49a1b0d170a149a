"""Analytics' metrics move as the events do: ingested per format and outcome, the counting backlog
(how far the dashboards trail) and the counting lag, read from /metrics as Prometheus would."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import orjson
from fastapi import FastAPI

from services.analytics.counting.service import count_all
from tests.analytics.conftest import Poster, sign_request
from tests.analytics.dataset import ev
from tests.analytics.test_webhooks_formats import caliper_event, canvas, envelope, statement
from tests.fixtures.metrics import Samples, scrape, value

INGESTED = "analytics_events_ingested_total"


def ingested(before: Samples, after: Samples) -> dict[tuple[str, str], float]:
    """How many events each (format, outcome) gained between two scrapes."""
    moved = {}
    for fmt in ("platform", "caliper", "xapi", "canvas"):
        for outcome in ("accepted", "duplicate", "replayed", "rejected"):
            delta = value(after, INGESTED, format=fmt, outcome=outcome) - value(
                before, INGESTED, format=fmt, outcome=outcome
            )
            if delta:
                moved[(fmt, outcome)] = delta
    return moved


async def test_events_ingested_per_format_and_outcome(
    post_signed: Poster, analytics: httpx.AsyncClient
) -> None:
    before = await scrape(analytics)

    good = [ev("s1", "login", "2026-03-02"), ev("s2", "login", "2026-03-02")]
    bad: dict[str, Any] = {"event_id": "x", "type": "login"}  # no occurred_at, no user
    r = await post_signed("events", [*good, bad], webhook_id="msg_metrics_1")
    assert r.status_code == 207, r.text
    r = await post_signed("events", [*good, bad], webhook_id="msg_metrics_1")  # the same delivery again
    assert r.status_code == 200 and r.json()["replay"] is True, r.text
    r = await post_signed("events", [good[0], ev("s3", "login", "2026-03-03")])  # one seen, one new
    assert r.json() == {"accepted": 1, "duplicates": 1, "rejected": [], "replay": False}
    r = await post_signed("events", bad)  # a single malformed event: 422
    assert r.status_code == 422, r.text

    r = await post_signed("caliper", envelope([caliper_event("SessionEvent", "LoggedIn")]))
    assert r.status_code == 200, r.text
    r = await post_signed("xapi", [statement("https://w3id.org/xapi/adl/verbs/logged-in")])
    assert r.status_code == 200, r.text
    r = await post_signed("canvas", [canvas("logged_in"), canvas("submission_created")])
    assert r.status_code == 200, r.text
    r = await post_signed("canvas", {"metadata": {"event_time": "2026-03-05T12:00:00Z"}})
    assert r.status_code == 422, r.text

    assert ingested(before, await scrape(analytics)) == {
        ("platform", "accepted"): 3,
        ("platform", "replayed"): 2,
        ("platform", "duplicate"): 1,
        ("platform", "rejected"): 2,
        ("caliper", "accepted"): 1,
        ("xapi", "accepted"): 1,
        ("canvas", "accepted"): 2,
        ("canvas", "rejected"): 1,
    }


async def test_xapi_statements_refused_together_count_as_rejected(
    post_signed: Poster, analytics: httpx.AsyncClient, integration: dict[str, Any]
) -> None:
    before = await scrape(analytics)
    good = statement("https://w3id.org/xapi/adl/verbs/logged-in")
    bad = {**statement("https://w3id.org/xapi/adl/verbs/logged-in"), "actor": {}}
    body = [good, bad]
    raw = orjson.dumps(body)
    r = await analytics.post(
        f"/api/analytics/webhooks/{integration['id']}/xapi/statements",
        content=raw,
        headers={
            **sign_request(integration["secret"], raw),
            "content-type": "application/json",
            "x-experience-api-version": "1.0.3",
        },
    )
    assert r.status_code == 400, r.text
    assert ingested(before, await scrape(analytics)) == {("xapi", "rejected"): 2}


async def test_counting_backlog_and_lag(
    post_signed: Poster, analytics_app: tuple[FastAPI, httpx.AsyncClient]
) -> None:
    app, analytics = analytics_app
    db = app.state.runtime.db
    await count_all(db)  # what other tests left queued (this app runs no counting worker)
    before = await scrape(analytics)
    assert value(before, "analytics_counting_pending_events") == 0
    assert value(before, "analytics_counting_oldest_pending_age_seconds") == 0

    events = [ev(f"u{uuid.uuid4().hex[:6]}", "login", "2026-03-02") for _ in range(3)]
    assert (await post_signed("events", events)).status_code == 200
    waiting = await scrape(analytics)
    assert value(waiting, "analytics_counting_pending_events") == 3
    assert value(waiting, "analytics_counting_oldest_pending_age_seconds") > 0

    assert await count_all(db) == 3
    counted = await scrape(analytics)
    assert value(counted, "analytics_counting_pending_events") == 0
    assert value(counted, "analytics_counting_oldest_pending_age_seconds") == 0
    assert (
        value(counted, "analytics_counted_events_total") - value(before, "analytics_counted_events_total")
        == 3
    )
    lag_batches = "analytics_counting_lag_seconds_count"
    assert value(counted, lag_batches) > value(before, lag_batches)
