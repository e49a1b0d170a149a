"""Licenses: costs per seat and per student, the computed cost point, renewals, districts."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import httpx

from tests.catalog.helpers import BASE, register
from tests.fixtures.auth import TokenFactory

TODAY = dt.datetime.now(dt.UTC).date()


def license_body(**overrides: object) -> dict[str, object]:
    """A one-year license of 100 seats for $400."""
    body: dict[str, object] = {
        "seats": 100,
        "price_total": "400.00",
        "term_start": "2026-08-01",
        "term_end": "2027-07-31",
        "renewal_date": "2027-06-01",
        "allocations": {"lincoln-ms": 60, "roosevelt-ms": 40},
    }
    return body | overrides


def cost_point(checklist: dict[str, Any]) -> dict[str, Any]:
    return next(p for p in checklist["points"] if p["point"] == "cost")


async def test_license_costs_and_cost_point_pass(api: httpx.AsyncClient, auth: TokenFactory) -> None:
    tool = await register(api, auth)
    r = await api.post(
        f"{BASE}/tools/{tool['id']}/licenses", json=license_body(students_covered=200), headers=auth("edtech")
    )
    assert r.status_code == 201, r.text
    lic = r.json()
    assert lic["cost_per_seat"] == 4.0 and lic["cost_per_student"] == 2.0
    assert lic["cost_per_student_per_year"] == 2.0 and lic["allocated_seats"] == 100
    checklist = (await api.get(f"{BASE}/tools/{tool['id']}/checklist", headers=auth("edtech"))).json()
    point = cost_point(checklist)
    assert point["result"] == "pass" and point["computed"] is True
    assert point["details"]["cost_per_student_per_year"] == 2.0 and point["details"]["limit"] == 5.0


async def test_supplemental_over_limit_fails_and_core_passes(
    api: httpx.AsyncClient, auth: TokenFactory
) -> None:
    tool = await register(api, auth)
    await api.post(
        f"{BASE}/tools/{tool['id']}/licenses", json=license_body(price_total="900.00"), headers=auth("edtech")
    )
    checklist = (await api.get(f"{BASE}/tools/{tool['id']}/checklist", headers=auth("edtech"))).json()
    assert cost_point(checklist)["result"] == "fail" and checklist["state"] == "failed"
    assert "$9.00 per student per year, over the district limit of $5.00" in cost_point(checklist)["evidence"]
    r = await api.put(
        f"{BASE}/tools/{tool['id']}/checklist/cost",
        json={"result": "pass", "evidence": "trust me"},
        headers=auth("edtech"),
    )
    assert r.status_code == 409 and "computed from license" in r.json()["detail"]
    await api.patch(f"{BASE}/tools/{tool['id']}", json={"usage": "core"}, headers=auth("edtech"))
    checklist = (await api.get(f"{BASE}/tools/{tool['id']}/checklist", headers=auth("edtech"))).json()
    assert cost_point(checklist)["result"] == "pass"


async def test_district_limit_is_configurable(api: httpx.AsyncClient, auth: TokenFactory) -> None:
    tool = await register(api, auth)
    await api.post(
        f"{BASE}/tools/{tool['id']}/licenses", json=license_body(price_total="700.00"), headers=auth("edtech")
    )
    checklist = (await api.get(f"{BASE}/tools/{tool['id']}/checklist", headers=auth("edtech"))).json()
    assert cost_point(checklist)["result"] == "fail"
    r = await api.put(f"{BASE}/district-settings", json={"cost_limit_per_student": 8}, headers=auth("edtech"))
    assert r.status_code == 200 and r.json()["cost_limit_per_student"] == 8.0
    checklist = (await api.get(f"{BASE}/tools/{tool['id']}/checklist", headers=auth("edtech"))).json()
    assert cost_point(checklist)["result"] == "pass" and cost_point(checklist)["details"]["limit"] == 8.0


async def test_update_license_recomputes(api: httpx.AsyncClient, auth: TokenFactory) -> None:
    tool = await register(api, auth)
    lic = (
        await api.post(f"{BASE}/tools/{tool['id']}/licenses", json=license_body(), headers=auth("edtech"))
    ).json()
    r = await api.patch(
        f"{BASE}/licenses/{lic['id']}", json={"price_total": "1000.00"}, headers=auth("edtech")
    )
    assert r.status_code == 200 and r.json()["cost_per_seat"] == 10.0
    checklist = (await api.get(f"{BASE}/tools/{tool['id']}/checklist", headers=auth("edtech"))).json()
    assert cost_point(checklist)["result"] == "fail"
    r = await api.patch(f"{BASE}/licenses/{lic['id']}", json={"seats": 50}, headers=auth("edtech"))
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "allocations"


async def test_upcoming_renewals(api: httpx.AsyncClient, auth: TokenFactory) -> None:
    tool = await register(api, auth, name="Renewing")
    soon = (TODAY + dt.timedelta(days=10)).isoformat()
    later = (TODAY + dt.timedelta(days=200)).isoformat()
    for renewal in (soon, later):
        r = await api.post(
            f"{BASE}/tools/{tool['id']}/licenses",
            json=license_body(
                renewal_date=renewal,
                term_start=TODAY.isoformat(),
                term_end=(TODAY + dt.timedelta(days=364)).isoformat(),
            ),
            headers=auth("edtech"),
        )
        assert r.status_code == 201, r.text
    r = await api.get(f"{BASE}/licenses/renewals", params={"within_days": 30}, headers=auth("admin"))
    assert r.status_code == 200
    items = r.json()["items"]
    assert [i["renewal_date"] for i in items] == [soon]
    assert items[0]["tool_name"] == "Renewing" and items[0]["days_to_renewal"] == 10
    r = await api.get(f"{BASE}/licenses/renewals", params={"within_days": 365}, headers=auth("admin"))
    assert r.json()["total"] == 2
    r = await api.get(f"{BASE}/licenses/renewals", headers=auth("admin"))  # default window: 60 days
    assert r.json()["total"] == 1
    r = await api.get(f"{BASE}/licenses", params={"tool_id": tool["id"]}, headers=auth("teacher"))
    assert r.json()["total"] == 2


async def test_bad_input_names_the_field(api: httpx.AsyncClient, auth: TokenFactory) -> None:
    tool = await register(api, auth)
    url = f"{BASE}/tools/{tool['id']}/licenses"
    r = await api.post(url, json=license_body(term_end="2026-01-01"), headers=auth("edtech"))
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "term_end"
    r = await api.post(url, json=license_body(allocations={"a": 101}), headers=auth("edtech"))
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "allocations"
    r = await api.post(url, json=license_body(seats=0), headers=auth("edtech"))
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "seats"
    r = await api.post(url, json=license_body(price_total="-1"), headers=auth("edtech"))
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "price_total"
    r = await api.post(url, json=license_body(term_start="yesterday"), headers=auth("edtech"))
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "term_start"
    r = await api.get(f"{BASE}/licenses/renewals", params={"within_days": -1}, headers=auth("edtech"))
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "within_days"


async def test_other_district_cannot_read_or_write_licenses(
    api: httpx.AsyncClient, auth: TokenFactory
) -> None:
    tool = await register(api, auth)
    lic = (
        await api.post(f"{BASE}/tools/{tool['id']}/licenses", json=license_body(), headers=auth("edtech"))
    ).json()
    other = auth("edtech", district_id=f"other-{uuid.uuid4().hex[:6]}")
    assert (await api.get(f"{BASE}/licenses/{lic['id']}", headers=other)).status_code == 404
    assert (
        await api.patch(f"{BASE}/licenses/{lic['id']}", json={"seats": 5}, headers=other)
    ).status_code == 404
    assert (
        await api.post(f"{BASE}/tools/{tool['id']}/licenses", json=license_body(), headers=other)
    ).status_code == 404
    assert (await api.get(f"{BASE}/licenses", headers=other)).json()["total"] == 0
    assert (await api.get(f"{BASE}/licenses/renewals", params={"within_days": 3650}, headers=other)).json()[
        "total"
    ] == 0
    assert (
        await api.post(f"{BASE}/tools/{tool['id']}/licenses", json=license_body(), headers=auth("teacher"))
    ).status_code == 403
