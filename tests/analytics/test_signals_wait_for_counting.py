"""A window is judged only once its usage is counted: while events of its last days wait in the counting
queue (the dashboards' freshness says so), an evaluation publishes nothing and says it waits, and the
window is judged on the counted figures afterwards. Judged at once, t2's use on the window's last day
would be missed and the tool flagged at 25% teacher utilization instead of 50%."""

from __future__ import annotations

import datetime as dt
import uuid

import httpx
from fastapi import FastAPI

from shared.clock import Clock
from tests.analytics.dataset import adopt, ev, licensed, noon, post_events, send_events, settle
from tests.analytics.roster_data import upload
from tests.fixtures.auth import TokenFactory


async def test_a_window_waits_until_its_last_days_are_counted(
    analytics_app: tuple[FastAPI, httpx.AsyncClient], auth: TokenFactory, district: str, clock: Clock
) -> None:
    app, client = analytics_app
    edtech = auth("edtech")
    r = await client.put(
        "/api/analytics/settings",
        headers=edtech,
        json={"window_anchor": "2026-01-01", "evaluation_window_days": 28},
    )
    assert r.status_code == 200, r.text
    assert (await upload(client, edtech)).status_code == 200
    tool = str(uuid.uuid4())
    r = await client.post(
        "/api/analytics/integrations", headers=edtech, json={"name": "LMS", "tool_id": tool}
    )
    integration = r.json()
    await post_events(client, integration, [ev("t1", "login", "2026-01-10")], app.state.runtime)  # counted
    await licensed(app.state.runtime, tool, district, seats=10, teacher_seats=4)
    await adopt(app.state.runtime, tool, district, on=dt.date(2025, 12, 15))
    await send_events(client, integration, [ev("t2", "login", "2026-01-28")])  # the window's last day: queued

    clock.set(noon(dt.date(2026, 1, 29)))
    waiting = await client.post("/api/analytics/signals/evaluate", headers=edtech)
    assert waiting.status_code == 200, waiting.text
    assert waiting.json() == {
        "window_start": "2026-01-01",
        "window_end": "2026-01-28",
        "published": [],
        "waiting_for_counting": True,
    }

    await settle(app.state.runtime)  # the workers count the last day
    judged = (await client.post("/api/analytics/signals/evaluate", headers=edtech)).json()
    assert judged["waiting_for_counting"] is False
    assert sorted((s["signal"], s["value"]) for s in judged["published"]) == [
        ("license_dormant", 8.0),
        ("seats_used", 2.0),
    ]  # 2 of 4 teachers: 50%, not under 30%: no utilization-dropped
