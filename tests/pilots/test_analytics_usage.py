"""Usage in the pilot report, from the real analytics app in process (best effort: null when it has none)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from services.analytics.app import create_app as create_analytics_app
from services.analytics.config import Settings as AnalyticsSettings
from services.pilots.app import create_app as create_pilots_app
from services.pilots.config import Settings as PilotsSettings
from shared.bus import IncomingMessage
from tests.fixtures.auth import TokenFactory
from tests.fixtures.services import running_app
from tests.pilots.conftest import TEACHERS, outbox_events, started_pilot

PILOTS = "/api/pilots/pilots"


@pytest.fixture
async def with_analytics(
    database_url: str, auth_settings: dict[str, Any]
) -> AsyncIterator[tuple[FastAPI, FastAPI, httpx.AsyncClient]]:
    """The real analytics app in process, and a pilots app reaching it through `analytics_http`."""
    common = {
        "database_url": database_url,
        "environment": "test",
        "workers_enabled": False,
        "bus_backend": "memory",
        **auth_settings,
    }
    analytics_app = create_analytics_app(AnalyticsSettings(**common))
    async with analytics_app.router.lifespan_context(analytics_app):
        transport = httpx.ASGITransport(app=analytics_app)
        async with httpx.AsyncClient(transport=transport, base_url="http://analytics") as analytics_http:
            pilots_app = create_pilots_app(PilotsSettings(**common), analytics_http=analytics_http)
            async with running_app(pilots_app) as pilots_client:
                yield analytics_app, pilots_app, pilots_client


async def test_report_carries_usage_once_analytics_knows_the_pilot(
    with_analytics: tuple[FastAPI, FastAPI, httpx.AsyncClient], auth: TokenFactory, district: str
) -> None:
    analytics_app, pilots_app, pilots = with_analytics
    pilot = await started_pilot(pilots_app, pilots, auth, district)
    report = (await pilots.get(f"{PILOTS}/{pilot['id']}/report", headers=auth("edtech"))).json()
    assert report["usage"] is None  # analytics has not heard of the pilot yet (404 there)

    [started] = await outbox_events(pilots_app, pilot["tool_id"])
    await analytics_app.state.runtime.consumer.handle_message(
        IncomingMessage(
            topic="edtech.pilots.lifecycle.v1",
            partition=0,
            offset=0,
            key=pilot["tool_id"],
            value=started.to_bytes(),
        )
    )

    report = (await pilots.get(f"{PILOTS}/{pilot['id']}/report", headers=auth("edtech"))).json()
    usage = report["usage"]
    assert usage["pilot_id"] == pilot["id"]
    assert (usage["start_date"], usage["end_date"]) == ("2026-03-02", "2026-03-29")
    assert sorted(t["teacher_id"] for t in usage["teachers"]) == TEACHERS
    assert usage["total_events"] == 0
