"""Jobs take their time from one clock a test sets, and no endpoint lets a caller move time: the signal
job and its endpoint judge the window the clock has ended, the retirement job retires when the clock
passes the notice's end."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.domain.helpers import ANALYTICS, CATALOG, approved_tool, ok
from tests.fixtures.auth import TokenFactory
from tests.fixtures.platform import Platform, running_platform

TODAY = dt.date(2026, 5, 4)


@pytest.fixture
async def fast_retirements(
    platform_database_url: str, auth_settings: dict[str, Any]
) -> AsyncIterator[Platform]:
    """The platform with the catalog's retirement job every 0.1 s instead of every hour."""
    async with running_platform(
        platform_database_url, auth_settings, catalog={"retirement_job_interval_s": 0.1}
    ) as running:
        yield running


async def status_of(platform: Platform, tool_id: str, headers: dict[str, str]) -> str:
    """A tool's status in the catalog."""
    return str(
        (await ok(await platform.catalog.get(f"{CATALOG}/tools/{tool_id}", headers=headers)))["status"]
    )


async def test_the_retirement_job_retires_when_the_clock_passes_the_notice(
    fast_retirements: Platform, auth: TokenFactory
) -> None:
    platform, edtech = fast_retirements, auth("edtech")
    platform.travel_to(TODAY)
    tool = await approved_tool(platform.catalog, auth)
    for status in ("piloting", "adopted"):
        await ok(
            await platform.catalog.post(
                f"{CATALOG}/tools/{tool['id']}/transitions", json={"to_status": status}, headers=edtech
            )
        )
    retirement = await ok(
        await platform.catalog.post(
            f"{CATALOG}/tools/{tool['id']}/retirement",
            json={"archive_location": "s3://archive/tool", "teacher_ids": ["t-1"]},
            headers=edtech,
        ),
        201,
    )
    assert retirement["notice_ends_at"] == "2026-06-03T12:00:00Z"
    await asyncio.sleep(0.5)  # five passes of the job: the notice runs
    assert await status_of(platform, tool["id"], edtech) == "sunsetting"

    platform.travel_to(dt.date(2026, 6, 4))
    for _ in range(40):
        if await status_of(platform, tool["id"], edtech) == "retired":
            break
        await asyncio.sleep(0.05)
    history = await ok(await platform.catalog.get(f"{CATALOG}/tools/{tool['id']}/history", headers=edtech))
    assert (history[-1]["to_status"], history[-1]["actor"]) == ("retired", "catalog:retirement-job")
    assert history[-1]["at"].startswith("2026-06-04T12:00:00")


async def test_no_caller_chooses_the_day_signals_are_judged_on(
    platform: Platform, auth: TokenFactory
) -> None:
    edtech = auth("edtech")
    await ok(
        await platform.analytics.put(
            f"{ANALYTICS}/settings",
            json={"window_anchor": "2026-01-05", "evaluation_window_days": 28},
            headers=edtech,
        )
    )
    platform.travel_to(TODAY)
    r = await platform.analytics.post(
        f"{ANALYTICS}/signals/evaluate", json={"as_of": "2031-01-06"}, headers=edtech
    )
    judged = await ok(r)
    assert (judged["window_start"], judged["window_end"]) == ("2026-03-30", "2026-04-26")  # the clock's
    document = (await platform.analytics.get(f"{ANALYTICS}/openapi.json")).json()
    assert "requestBody" not in document["paths"][f"{ANALYTICS}/signals/evaluate"]["post"]
