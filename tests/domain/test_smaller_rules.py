"""The smaller rules of DOMAIN.md: cost per student *under* $5; privacy passes only with a signed data
privacy agreement on record; the administrator is read-mostly; pilots count toward a school's
tool-fatigue limit."""

from __future__ import annotations

import uuid
from typing import Any

from tests.catalog.helpers import PASSES
from tests.domain.helpers import CATALOG, PILOTS, approved_tool, ok, pilot_plan
from tests.domain.test_rollout_gate import adopted_by_pilot, record, rollout
from tests.fixtures.auth import TokenFactory
from tests.fixtures.platform import Platform


def cost_point(checklist: dict[str, Any]) -> dict[str, Any]:
    """The cost point of a checklist."""
    return next(p for p in checklist["points"] if p["point"] == "cost")


async def test_exactly_five_dollars_per_student_is_not_under_five(
    platform: Platform, auth: TokenFactory
) -> None:
    edtech = auth("edtech")
    for price, result in (("500.00", "fail"), ("499.00", "pass")):
        tool = await approved_tool(platform.catalog, auth, usage="supplemental")
        await ok(
            await platform.catalog.post(
                f"{CATALOG}/tools/{tool['id']}/licenses",
                json={
                    "seats": 100,
                    "price_total": price,
                    "term_start": "2026-01-01",
                    "term_end": "2026-12-31",
                },
                headers=edtech,
            ),
            201,
        )
        checklist = await ok(
            await platform.catalog.get(f"{CATALOG}/tools/{tool['id']}/checklist", headers=edtech)
        )
        assert cost_point(checklist)["result"] == result, cost_point(checklist)
    assert (
        cost_point(checklist)["evidence"] == "$4.99 per student per year, under the district limit of $5.00"
    )


async def test_privacy_cannot_pass_without_a_signed_data_privacy_agreement(
    platform: Platform, auth: TokenFactory
) -> None:
    edtech = auth("edtech")
    passed = {"result": "pass", "evidence": "FERPA/COPPA policy reviewed"}
    loose = await ok(
        await platform.catalog.post(f"{CATALOG}/tools", json={"name": "Loose"}, headers=edtech), 201
    )
    r = await platform.catalog.put(
        f"{CATALOG}/tools/{loose['id']}/checklist/privacy", json=passed, headers=edtech
    )
    assert r.status_code == 409 and r.json()["type"].endswith("/dpa-missing")
    assert "names no vendor" in r.json()["detail"]

    vendor = await ok(
        await platform.catalog.post(
            f"{CATALOG}/vendors", json={"name": f"V {uuid.uuid4().hex[:6]}"}, headers=edtech
        ),
        201,
    )
    tool = await ok(
        await platform.catalog.post(
            f"{CATALOG}/tools", json={"name": "Unsigned", "vendor_id": vendor["id"]}, headers=edtech
        ),
        201,
    )
    r = await platform.catalog.put(
        f"{CATALOG}/tools/{tool['id']}/checklist/privacy", json=passed, headers=edtech
    )
    assert (
        r.status_code == 409
        and f"{vendor['name']} has no signed data privacy agreement" in r.json()["detail"]
    )
    checklist = await ok(
        await platform.catalog.get(f"{CATALOG}/tools/{tool['id']}/checklist", headers=edtech)
    )
    assert checklist["points"][0]["result"] == "pending"

    await ok(
        await platform.catalog.patch(
            f"{CATALOG}/vendors/{vendor['id']}", json={"dpa_signed": True}, headers=edtech
        )
    )
    await ok(
        await platform.catalog.put(
            f"{CATALOG}/tools/{tool['id']}/checklist/privacy", json=passed, headers=edtech
        )
    )


async def test_the_administrator_reads_but_does_not_change_the_catalog(
    platform: Platform, auth: TokenFactory
) -> None:
    admin = auth("admin")
    tool = await approved_tool(platform.catalog, auth)
    r = await platform.catalog.post(f"{CATALOG}/vendors", json={"name": "Admin's pick"}, headers=admin)
    assert r.status_code == 403
    r = await platform.catalog.post(
        f"{CATALOG}/tools/{tool['id']}/transitions", json={"to_status": "rejected"}, headers=admin
    )
    assert r.status_code == 403
    assert (await ok(await platform.catalog.get(f"{CATALOG}/tools/{tool['id']}", headers=admin)))[
        "status"
    ] == "approved_for_pilot"
    assert (await ok(await platform.catalog.get(f"{CATALOG}/vendors", headers=admin)))["total"] == 1
    settings = await ok(
        await platform.catalog.put(f"{CATALOG}/district-settings", json={"fatigue_limit": 4}, headers=admin)
    )
    assert settings["fatigue_limit"] == 4  # district policy is the administrator's to set


async def test_a_pilot_counts_toward_its_schools_tool_fatigue_limit(
    platform: Platform, auth: TokenFactory
) -> None:
    edtech = auth("edtech")
    await ok(
        await platform.catalog.put(f"{CATALOG}/district-settings", json={"fatigue_limit": 1}, headers=edtech)
    )
    rolled = await approved_tool(platform.catalog, auth)
    for point, body in PASSES.items():
        await record(platform.catalog, auth, rolled["id"], point, body)
    await platform.settle()
    await adopted_by_pilot(platform, auth, rolled)  # a pilot in no particular school

    piloted = await approved_tool(platform.catalog, auth)
    await platform.settle()
    pilot = await ok(
        await platform.pilots.post(
            f"{PILOTS}/pilots", json=pilot_plan(piloted["id"], school_id="lincoln-ms"), headers=edtech
        ),
        201,
    )
    await ok(await platform.pilots.post(f"{PILOTS}/pilots/{pilot['id']}/start", headers=edtech))
    await platform.settle()

    planned = await ok(
        await platform.catalog.post(
            f"{CATALOG}/rollouts",
            json=rollout(rolled["id"], "lincoln-ms", semester="2026-spring"),
            headers=edtech,
        ),
        201,
    )
    assert (planned["approved_in_scope"], planned["would_exceed"]) == (1, True)
    r = await platform.catalog.post(f"{CATALOG}/rollouts/{planned['id']}/approve", json={}, headers=edtech)
    assert r.status_code == 409 and r.json()["type"].endswith("/tool-fatigue")
    assert "already has 1 new tools approved or piloted for 2026-spring" in r.json()["detail"]

    elsewhere = await ok(
        await platform.catalog.post(
            f"{CATALOG}/rollouts",
            json=rollout(rolled["id"], "grant-hs", semester="2026-spring"),
            headers=edtech,
        ),
        201,
    )
    await ok(
        await platform.catalog.post(f"{CATALOG}/rollouts/{elsewhere['id']}/approve", json={}, headers=edtech)
    )
    later = await ok(
        await platform.catalog.post(
            f"{CATALOG}/rollouts",
            json=rollout(rolled["id"], "lincoln-ms", semester="2026-fall"),
            headers=edtech,
        ),
        201,
    )
    assert later["approved_in_scope"] == 0  # the pilot began in spring
