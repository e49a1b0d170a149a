"""Each district has a time zone and every day, week, month and term boundary uses it: a login at 9 pm
Pacific on October 31 counts in October, not in November as it does when periods are cut in UTC."""

from __future__ import annotations

from typing import Any

from tests.analytics.dataset import send_events
from tests.analytics.roster_data import upload
from tests.domain.helpers import ANALYTICS, counted, ok
from tests.fixtures.auth import TokenFactory
from tests.fixtures.platform import Platform

HALLOWEEN_EVENING = "2026-10-31T21:00:00-07:00"  # 2026-11-01 04:00 UTC


async def monthly_logins(platform: Platform, headers: dict[str, str]) -> dict[str, int]:
    """Logins per month of October and November 2026."""
    report = await ok(
        await platform.analytics.get(
            f"{ANALYTICS}/dashboards/logins",
            params={"from": "2026-10-01", "to": "2026-11-30", "period": "month"},
            headers=headers,
        )
    )
    totals: dict[str, int] = {}
    for row in report["rows"]:
        totals[row["period_start"]] = totals.get(row["period_start"], 0) + row["logins"]
    return totals


async def test_periods_are_cut_in_the_districts_time_zone(
    platform: Platform, auth: TokenFactory, district: str
) -> None:
    edtech = auth("edtech")
    assert (await upload(platform.analytics, edtech)).status_code == 200
    integration: dict[str, Any] = await ok(
        await platform.analytics.post(f"{ANALYTICS}/integrations", json={"name": "LMS"}, headers=edtech), 201
    )
    login = {
        "event_id": "halloween-login",
        "type": "login",
        "occurred_at": HALLOWEEN_EVENING,
        "user_id": "t1",
        "tool_id": "9d3c1f0e-2b4a-4c5d-8e6f-7a8b9c0d1e2f",
    }
    await send_events(platform.analytics, integration, [login])
    await counted(platform, district)
    assert await monthly_logins(platform, edtech) == {"2026-11-01": 1}  # UTC, as before: November

    settings = await ok(
        await platform.analytics.put(
            f"{ANALYTICS}/settings", json={"time_zone": "America/Los_Angeles"}, headers=edtech
        )
    )
    assert settings["time_zone"] == "America/Los_Angeles"
    await counted(platform, district)  # the district is recounted in its own days
    assert await monthly_logins(platform, edtech) == {"2026-10-01": 1}

    r = await platform.analytics.put(
        f"{ANALYTICS}/settings", json={"time_zone": "Mars/Olympus"}, headers=edtech
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "time_zone"
