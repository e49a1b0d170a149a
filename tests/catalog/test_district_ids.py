"""Every id a catalog write names belongs to the caller's district.

The catalog owns tools, vendors, rubrics, licenses, flags and rollouts: an id of another district is
looked up in the caller's district and not found there (404 in a path, 422 naming the field in a
body), nothing is stored, and the owner's rows are unchanged. Events are applied to the tools and
licenses of the event's own district only.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import httpx
from fastapi import FastAPI

from shared.events import LicenseDormant, UtilizationDropped
from tests.catalog.helpers import BASE, adopted_tool, deliver, message, register
from tests.catalog.test_licenses import license_body
from tests.catalog.test_rubrics import RUBRIC, evaluation
from tests.fixtures.auth import TokenFactory


def refused_naming(r: httpx.Response, field: str, message: str) -> None:
    """A 422 problem naming `field`."""
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["errors"] == [{"field": field, "message": message}]


async def test_body_ids_of_another_district_are_422_and_store_nothing(
    api: httpx.AsyncClient, auth: TokenFactory
) -> None:
    owner = auth("edtech", district_id=f"other-{uuid.uuid4().hex[:10]}")
    vendor = (await api.post(f"{BASE}/vendors", json={"name": "Acme"}, headers=owner)).json()
    rubric = (await api.post(f"{BASE}/rubrics", json=RUBRIC, headers=owner)).json()
    theirs = (await api.post(f"{BASE}/tools", json={"name": "Theirs"}, headers=owner)).json()
    mine = await register(api, auth, name="Mine")

    r = await api.post(f"{BASE}/tools", json={"name": "X", "vendor_id": vendor["id"]}, headers=auth("edtech"))
    refused_naming(r, "vendor_id", f"vendor {vendor['id']} does not exist in this district")
    r = await api.patch(
        f"{BASE}/tools/{mine['id']}", json={"vendor_id": vendor["id"]}, headers=auth("edtech")
    )
    refused_naming(r, "vendor_id", f"vendor {vendor['id']} does not exist in this district")
    r = await api.post(
        f"{BASE}/tools/{mine['id']}/evaluations", json=evaluation(rubric["id"], 3, 2), headers=auth("edtech")
    )
    refused_naming(r, "rubric_id", f"rubric {rubric['id']} does not exist in this district")
    r = await api.post(
        f"{BASE}/rollouts",
        json={"tool_id": theirs["id"], "scope": "school", "scope_id": "x", "semester": "2026-fall"},
        headers=auth("edtech"),
    )
    refused_naming(r, "tool_id", f"unknown tool {theirs['id']} in this district")

    tools = (await api.get(f"{BASE}/tools", headers=auth("edtech"))).json()["items"]
    assert [(t["name"], t["vendor_id"]) for t in tools] == [("Mine", None)]
    evaluations = await api.get(f"{BASE}/tools/{mine['id']}/evaluations", headers=auth("edtech"))
    assert evaluations.json()["total"] == 0
    assert (await api.get(f"{BASE}/rollouts", headers=auth("edtech"))).json()["total"] == 0
    assert (await api.get(f"{BASE}/tools", headers=owner)).json()["total"] == 1


async def test_path_ids_of_another_district_are_404_and_change_nothing(
    api: httpx.AsyncClient, auth: TokenFactory, district: str
) -> None:
    tool = await adopted_tool(api, auth, name="Owned")
    tid = tool["id"]
    lic = (await api.post(f"{BASE}/tools/{tid}/licenses", json=license_body(), headers=auth("edtech"))).json()
    alignment = (await api.get(f"{BASE}/tools/{tid}/standards", headers=auth("edtech"))).json()["items"][0]
    flag = (
        await api.post(
            f"{BASE}/tools/{tid}/flags", json={"kind": "review", "note": "n"}, headers=auth("edtech")
        )
    ).json()
    vendor = (await api.post(f"{BASE}/vendors", json={"name": "Owner Co"}, headers=auth("edtech"))).json()

    async def snapshot() -> dict[str, Any]:
        mine = auth("edtech")
        return {
            path: (await api.get(f"{BASE}{path}", headers=mine)).json()
            for path in (
                f"/tools/{tid}",
                f"/tools/{tid}/history",
                f"/tools/{tid}/standards",
                f"/tools/{tid}/checklist",
                f"/tools/{tid}/flags",
                f"/tools/{tid}/evaluations",
                f"/licenses/{lic['id']}",
                f"/vendors/{vendor['id']}",
            )
        }

    before = await snapshot()
    stranger = auth("edtech", "admin", district_id=f"other-{uuid.uuid4().hex[:10]}")
    writes: list[tuple[str, str, Any]] = [
        ("PATCH", f"/tools/{tid}", {"name": "Renamed"}),
        ("POST", f"/tools/{tid}/transitions", {"to_status": "sunsetting"}),
        ("POST", f"/tools/{tid}/licenses", license_body()),
        ("PATCH", f"/licenses/{lic['id']}", {"seats": 1}),
        ("POST", f"/tools/{tid}/standards", {"framework": "NGSS", "code": "MS-PS1-1"}),
        ("DELETE", f"/tools/{tid}/standards/{alignment['id']}", None),
        ("PUT", f"/tools/{tid}/checklist/sso", {"result": "fail", "evidence": "no SSO"}),
        ("POST", f"/tools/{tid}/flags", {"kind": "removal_candidate", "note": "n"}),
        ("POST", f"/tools/{tid}/flags/{flag['id']}/resolve", None),
        ("POST", f"/tools/{tid}/retirement", {"archive_location": "s3://x", "teacher_ids": ["t-1"]}),
        ("PATCH", f"/vendors/{vendor['id']}", {"name": "Taken over"}),
    ]
    for method, path, body in writes:
        r = await api.request(method, f"{BASE}{path}", json=body, headers=stranger)
        assert r.status_code == 404, (method, path, r.text)
        assert r.headers["content-type"] == "application/problem+json"
    assert await snapshot() == before


async def test_events_touch_only_their_own_districts_tools_and_licenses(
    api: httpx.AsyncClient, auth: TokenFactory, app: FastAPI, district: str
) -> None:
    other = f"other-{uuid.uuid4().hex[:10]}"
    owner = auth("edtech", district_id=other)
    theirs = (await api.post(f"{BASE}/tools", json={"name": "Theirs"}, headers=owner)).json()
    their_license = (
        await api.post(f"{BASE}/tools/{theirs['id']}/licenses", json=license_body(), headers=owner)
    ).json()
    mine = await register(api, auth, name="Mine")
    my_license = (
        await api.post(f"{BASE}/tools/{mine['id']}/licenses", json=license_body(), headers=auth("edtech"))
    ).json()

    window = {"window_start": dt.date(2026, 1, 5), "window_end": dt.date(2026, 5, 29)}
    dropped = UtilizationDropped(
        tool_id=uuid.UUID(theirs["id"]),
        utilization=0.1,
        threshold=0.5,
        active_teachers=1,
        licensed_teachers=10,
        **window,
    )
    await deliver(app, message(dropped, district))  # their tool, our district: ignored

    def dormant(license_id: str) -> LicenseDormant:
        return LicenseDormant(
            tool_id=uuid.UUID(mine["id"]),
            license_id=uuid.UUID(license_id),
            seats_purchased=100,
            seats_active=10,
            dormant_seats=90,
            **window,
        )

    await deliver(app, message(dormant(their_license["id"]), district))
    await deliver(app, message(dormant(my_license["id"]), district))

    assert (await api.get(f"{BASE}/tools/{theirs['id']}/flags", headers=owner)).json()["total"] == 0
    flags = (await api.get(f"{BASE}/tools/{mine['id']}/flags", headers=auth("edtech"))).json()["items"]
    assert sorted((f["source"], f["data"]["license_id"] or "") for f in flags) == sorted(
        [("license_dormant", ""), ("license_dormant", my_license["id"])]
    )
