"""utilization-dropped and license-dormant: published once per tool and window, into the outbox."""

from __future__ import annotations

import datetime as dt
import uuid

import httpx
from fastapi import FastAPI
from sqlalchemy import select

from services.analytics.db import outbox
from shared.clock import Clock
from shared.events import CloudEvent, ToolRegistered
from tests.analytics.dataset import adopt, deliver, ev, licensed, noon, post_events
from tests.analytics.roster_data import upload
from tests.fixtures.auth import TokenFactory


async def outbox_events(app: FastAPI, tool_id: str) -> list[CloudEvent]:
    async with app.state.runtime.db.transaction() as session:
        rows = (
            await session.execute(
                select(outbox.c.payload).where(outbox.c.key == tool_id).order_by(outbox.c.id)
            )
        ).all()
    return [CloudEvent.from_bytes(r.payload.encode()) for r in rows]


async def test_signals_are_published_once_per_window(
    analytics_app: tuple[FastAPI, httpx.AsyncClient], auth: TokenFactory, district: str, clock: Clock
) -> None:
    app, client = analytics_app
    r = await client.put(
        "/api/analytics/settings",
        headers=auth("edtech"),
        json={"window_anchor": "2026-01-01", "evaluation_window_days": 28},
    )
    assert r.status_code == 200, r.text
    assert (r.json()["utilization_threshold"], r.json()["evaluation_window_days"]) == (0.3, 28)
    assert (await upload(client, auth("edtech"))).status_code == 200
    tool = str(uuid.uuid4())
    integration = (
        await client.post(
            "/api/analytics/integrations", headers=auth("edtech"), json={"name": "LMS", "tool_id": tool}
        )
    ).json()
    # window 1 (Jan 1-28): t1 and two students use the tool; window 2 (Jan 29 - Feb 25): nobody
    await post_events(
        client,
        integration,
        [ev("t1", "login", "2026-01-10"), ev("s1", "login", "2026-01-11"), ev("s2", "login", "2026-01-12")],
        app.state.runtime,
    )
    await licensed(app.state.runtime, tool, district, seats=10, cost_per_seat=5.0, teacher_seats=4)
    await adopt(app.state.runtime, tool, district, on=dt.date(2025, 12, 15))

    clock.set(noon(dt.date(2026, 2, 1)))
    first = await client.post("/api/analytics/signals/evaluate", headers=auth("edtech"))
    assert first.status_code == 200, first.text
    body = first.json()
    assert (body["window_start"], body["window_end"]) == ("2026-01-01", "2026-01-28")
    assert sorted((s["signal"], s["value"]) for s in body["published"]) == [
        ("license_dormant", 7.0),
        ("seats_used", 3.0),
        ("utilization_dropped", 0.25),
    ]
    clock.set(noon(dt.date(2026, 2, 20)))
    again = await client.post("/api/analytics/signals/evaluate", headers=auth("edtech"))
    assert again.json()["published"] == []
    events = await outbox_events(app, tool)
    assert [e.type for e in events] == [
        "org.edtech.utilization.dropped.v1",
        "org.edtech.license.seats_used.v1",
        "org.edtech.license.dormant.v1",
    ]
    dropped, used, dormant = events[0].data, events[1].data, events[2].data
    assert (used["seats_purchased"], used["seats_used"], used["teachers_active"]) == (10, 3, 1)
    assert (
        dropped["utilization"],
        dropped["threshold"],
        dropped["active_teachers"],
        dropped["licensed_teachers"],
        dropped["teacher_ids"],
    ) == (0.25, 0.3, 1, 4, ["t1"])
    assert (
        dormant["seats_purchased"],
        dormant["seats_active"],
        dormant["dormant_seats"],
        dormant["dormant_cost"],
    ) == (10, 3, 7, 35.0)
    assert events[0].districtid == district

    # the next window is a new window: published once more
    clock.set(noon(dt.date(2026, 2, 26)))
    later = await client.post("/api/analytics/signals/evaluate", headers=auth("admin"))
    assert len(later.json()["published"]) == 3
    assert len(await outbox_events(app, tool)) == 6
    listed = await client.get("/api/analytics/signals", headers=auth("edtech"))
    assert listed.json()["total"] == 6


async def test_threshold_is_per_district_and_unused_window_publishes_nothing(
    analytics_app: tuple[FastAPI, httpx.AsyncClient], auth: TokenFactory, district: str, clock: Clock
) -> None:
    app, client = analytics_app
    await client.put(
        "/api/analytics/settings",
        headers=auth("edtech"),
        json={"window_anchor": "2026-01-01", "evaluation_window_days": 28, "utilization_threshold": 0.2},
    )
    assert (await upload(client, auth("edtech"))).status_code == 200
    tool = str(uuid.uuid4())
    await deliver(
        app.state.runtime,
        ToolRegistered(tool_id=uuid.UUID(tool), tool_name="Kami", status="proposed"),
        district,
    )
    await adopt(app.state.runtime, tool, district, on=dt.date(2025, 12, 15))
    integration = (
        await client.post(
            "/api/analytics/integrations", headers=auth("edtech"), json={"name": "LMS", "tool_id": tool}
        )
    ).json()
    await post_events(client, integration, [ev("t1", "login", "2026-01-10")], app.state.runtime)
    clock.set(noon(dt.date(2026, 1, 20)))
    early = await client.post("/api/analytics/signals/evaluate", headers=auth("edtech"))
    assert early.json() == {
        "window_start": None,
        "window_end": None,
        "published": [],
        "waiting_for_counting": False,
    }
    # 1 of 2 rostered teachers = 0.5, above the district's 0.2: no signal; no license: no dormant seats
    clock.set(noon(dt.date(2026, 2, 1)))
    r = await client.post("/api/analytics/signals/evaluate", headers=auth("edtech"))
    assert r.json()["published"] == []
    assert await outbox_events(app, tool) == []
    assert (await client.post("/api/analytics/signals/evaluate", headers=auth("teacher"))).status_code == 403
    bad = await client.put(
        "/api/analytics/settings", headers=auth("edtech"), json={"utilization_threshold": 2}
    )
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "utilization_threshold"


async def test_district_inputs_are_listed_per_district(
    analytics_app: tuple[FastAPI, httpx.AsyncClient], auth: TokenFactory, district: str
) -> None:
    app, analytics = analytics_app
    tool = str(uuid.uuid4())
    ends = dt.date(2026, 12, 31)
    await licensed(app.state.runtime, tool, district, seats=30, cost_per_seat=4.5, ends_on=ends)
    shorter = dict(seats=3, starts_on=dt.date(2026, 1, 1), ends_on=dt.date(2026, 6, 30))
    await licensed(app.state.runtime, tool, district, **shorter)  # type: ignore[arg-type]
    await analytics.put(
        "/api/analytics/baselines/submission-rate/ela", json={"rate": 0.6}, headers=auth("admin")
    )
    licenses = (await analytics.get("/api/analytics/licenses", headers=auth("edtech"))).json()
    assert (licenses["total"], licenses["items"][0]["seats_purchased"]) == (1, 30)  # the one running longer
    baselines = (
        await analytics.get("/api/analytics/baselines/submission-rate", headers=auth("edtech"))
    ).json()
    assert [(b["subject"], b["rate"]) for b in baselines["items"]] == [("ela", 0.6)]
    other = await analytics.get("/api/analytics/licenses", headers=auth("edtech", district_id="elsewhere"))
    assert other.json()["total"] == 0
    r = await analytics.put(
        f"/api/analytics/licenses/{tool}", json={"seats_purchased": 3}, headers=auth("admin")
    )
    assert r.status_code == 404  # the catalog owns licenses: they are entered there
