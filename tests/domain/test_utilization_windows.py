"""Under 30% teacher utilization after one semester makes a removal candidate (DOMAIN.md §1, §3): a tool
is judged only over whole windows after its adoption and its license start, by the background job on the
service clock, and the teachers named are those who used it."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.analytics.dataset import ev, send_events
from tests.analytics.roster_data import upload
from tests.domain.helpers import ANALYTICS, CATALOG, approved_tool, counted, ok
from tests.fixtures.auth import TokenFactory
from tests.fixtures.platform import Platform, running_platform

ADOPTED_ON = dt.date(2026, 3, 10)
"""Windows of 28 days from 2026-01-05: Feb 2 - Mar 1, Mar 2 - 29 (adopted inside), Mar 30 - Apr 26."""


@pytest.fixture
async def fast_jobs(platform_database_url: str, auth_settings: dict[str, Any]) -> AsyncIterator[Platform]:
    """The platform with analytics' signal job every 0.1 s instead of every hour."""
    async with running_platform(
        platform_database_url, auth_settings, analytics={"signals_interval_s": 0.1}
    ) as running:
        yield running


async def job_signals(platform: Platform, auth: TokenFactory, *, rounds: int = 5) -> list[Any]:
    """What the signal job published for the district after a few more of its passes."""
    await asyncio.sleep(rounds * 0.1 + 0.2)
    await platform.settle()
    return list(
        (await ok(await platform.analytics.get(f"{ANALYTICS}/signals", headers=auth("edtech"))))["items"]
    )


async def test_a_tool_is_judged_only_over_whole_windows_after_its_adoption_and_license(
    fast_jobs: Platform, auth: TokenFactory, district: str
) -> None:
    platform, edtech = fast_jobs, auth("edtech")
    platform.travel_to(ADOPTED_ON)
    await ok(
        await platform.analytics.put(
            f"{ANALYTICS}/settings",
            json={"window_anchor": "2026-01-05", "evaluation_window_days": 28},
            headers=edtech,
        )
    )
    assert (await upload(platform.analytics, edtech)).status_code == 200  # teachers t1 and t2
    tool = await approved_tool(platform.catalog, auth)
    for status in ("piloting", "adopted"):
        await ok(
            await platform.catalog.post(
                f"{CATALOG}/tools/{tool['id']}/transitions", json={"to_status": status}, headers=edtech
            )
        )
    license_ = await ok(
        await platform.catalog.post(
            f"{CATALOG}/tools/{tool['id']}/licenses",
            json={
                "seats": 30,
                "teacher_seats": 4,
                "price_total": "60.00",
                "term_start": "2026-04-10",
                "term_end": "2026-12-31",
            },
            headers=edtech,
        ),
        201,
    )
    await platform.settle()

    # adopted today: the semester that ended before is never judged (nobody used the tool then)
    assert await job_signals(platform, auth) == []
    platform.travel_to(dt.date(2026, 4, 1))  # Mar 2 - 29 ended: the tool was adopted on its 9th day
    assert await job_signals(platform, auth) == []

    integration = await ok(
        await platform.analytics.post(
            f"{ANALYTICS}/integrations", json={"name": "LMS", "tool_id": tool["id"]}, headers=edtech
        ),
        201,
    )
    await send_events(
        platform.analytics, integration, [ev("t1", "login", "2026-04-02"), ev("s1", "login", "2026-04-03")]
    )
    await counted(platform, district)
    platform.travel_to(dt.date(2026, 4, 28))  # Mar 30 - Apr 26 ended, but the license started on Apr 10
    assert await job_signals(platform, auth) == []

    await ok(  # the catalog owns the license: its new start reaches analytics by license-recorded
        await platform.catalog.patch(
            f"{CATALOG}/licenses/{license_['id']}", json={"term_start": "2026-03-01"}, headers=edtech
        )
    )
    signals = await job_signals(platform, auth)
    assert sorted((s["signal"], s["window_start"], s["window_end"], s["value"]) for s in signals) == [
        ("license_dormant", "2026-03-30", "2026-04-26", 28.0),  # 2 of 30 seats used
        ("seats_used", "2026-03-30", "2026-04-26", 2.0),
        ("utilization_dropped", "2026-03-30", "2026-04-26", 0.25),  # 1 of 4 licensed teachers
    ]
    candidates = (await ok(await platform.catalog.get(f"{CATALOG}/sunsetting/candidates", headers=edtech)))[
        "items"
    ]
    assert [(c["tool_id"], c["data"]["teacher_ids"]) for c in candidates] == [(tool["id"], ["t1"])]
    used = (await ok(await platform.catalog.get(f"{CATALOG}/licenses/{license_['id']}", headers=edtech)))[
        "seats_used"
    ]
    assert used == {
        "window_start": "2026-03-30",
        "window_end": "2026-04-26",
        "seats": 2,
        "share": 0.0667,
        "teachers_active": 1,
    }
