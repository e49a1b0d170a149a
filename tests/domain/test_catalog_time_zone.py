"""The catalog's days are the district's too: its upcoming renewals start at the district's today,
on the catalog's clock (the zone learnt from analytics' `district-time-zone-changed`)."""

from __future__ import annotations

import datetime as dt

from tests.domain.helpers import ANALYTICS, CATALOG, approved_tool, ok
from tests.fixtures.auth import TokenFactory
from tests.fixtures.platform import Platform


async def test_renewals_start_at_the_districts_today(platform: Platform, auth: TokenFactory) -> None:
    edtech = auth("edtech")
    tool = await approved_tool(platform.catalog, auth)
    license_ = {
        "seats": 40,
        "price_total": "100.00",
        "term_start": "2025-11-01",
        "term_end": "2026-10-31",
        "renewal_date": "2026-10-31",
    }
    await ok(
        await platform.catalog.post(f"{CATALOG}/tools/{tool['id']}/licenses", json=license_, headers=edtech),
        201,
    )
    # 05:00 UTC on November 1 is 10 pm on October 31 in Los Angeles: the license renews today there
    platform.runtime("catalog").clock.set(dt.datetime(2026, 11, 1, 5, 0, tzinfo=dt.UTC))
    url = f"{CATALOG}/licenses/renewals?within_days=30"
    assert (await ok(await platform.catalog.get(url, headers=edtech)))["total"] == 0  # UTC: already past
    await ok(
        await platform.analytics.put(
            f"{ANALYTICS}/settings", json={"time_zone": "America/Los_Angeles"}, headers=edtech
        )
    )
    await platform.settle()
    renewals = await ok(await platform.catalog.get(url, headers=edtech))
    assert [r["renewal_date"] for r in renewals["items"]] == ["2026-10-31"]
