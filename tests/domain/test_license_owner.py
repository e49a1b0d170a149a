"""Licenses have one owner (DOMAIN.md §1: "Licenses: seats bought, price, term dates...; the analytics
service tells how many seats are actually used"): they are entered in the catalog only, analytics keeps a
copy from its events, and the seats analytics saw used come back to the catalog's license (shown in
tests/domain/test_utilization_windows.py)."""

from __future__ import annotations

from tests.domain.helpers import ANALYTICS, CATALOG, approved_tool, ok
from tests.fixtures.auth import TokenFactory
from tests.fixtures.platform import Platform


async def test_a_license_entered_in_the_catalog_is_the_one_analytics_knows(
    platform: Platform, auth: TokenFactory
) -> None:
    edtech = auth("edtech")
    tool = await approved_tool(platform.catalog, auth)
    license_ = await ok(
        await platform.catalog.post(
            f"{CATALOG}/tools/{tool['id']}/licenses",
            json={
                "seats": 400,
                "teacher_seats": 25,
                "price_total": "1800.00",
                "term_start": "2026-08-01",
                "term_end": "2027-07-31",
            },
            headers=edtech,
        ),
        201,
    )
    assert (license_["teacher_seats"], license_["seats_used"]) == (25, None)
    await platform.settle()
    [copy] = (await ok(await platform.analytics.get(f"{ANALYTICS}/licenses", headers=edtech)))["items"]
    assert (
        copy["license_id"],
        copy["tool_id"],
        copy["seats_purchased"],
        copy["teacher_seats"],
        copy["cost_per_seat"],
        copy["starts_on"],
        copy["ends_on"],
    ) == (license_["id"], tool["id"], 400, 25, 4.5, "2026-08-01", "2027-07-31")

    await ok(
        await platform.catalog.patch(
            f"{CATALOG}/licenses/{license_['id']}", json={"seats": 450}, headers=edtech
        )
    )
    await platform.settle()
    [copy] = (await ok(await platform.analytics.get(f"{ANALYTICS}/licenses", headers=edtech)))["items"]
    assert (copy["seats_purchased"], copy["cost_per_seat"]) == (450, 4.0)

    r = await platform.analytics.put(
        f"{ANALYTICS}/licenses/{tool['id']}", json={"seats_purchased": 9}, headers=edtech
    )
    assert r.status_code == 404  # no second place to enter a license
