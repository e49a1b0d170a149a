"""GET /api/analytics/rosters/schools: the district's rostered schools (the dashboards' school filter)."""

from __future__ import annotations

import uuid

import httpx
import pytest

from tests.analytics.roster_data import FILES, upload
from tests.fixtures.auth import TokenFactory

URL = "/api/analytics/rosters/schools"


async def test_schools_of_the_roster_by_name(analytics: httpx.AsyncClient, auth: TokenFactory) -> None:
    assert (await analytics.get(URL, headers=auth("admin"))).json() == {
        "items": [],
        "total": 0,
        "limit": 50,
        "offset": 0,
    }
    assert (await upload(analytics, auth("edtech"))).status_code == 200
    for role in ("admin", "edtech", "specialist", "teacher"):
        r = await analytics.get(URL, headers=auth(role))
        assert r.status_code == 200, r.text
        # the district org is not a school; schools come by name
        assert r.json() == {
            "items": [
                {"sourced_id": "sch-2", "name": "Adams Middle"},
                {"sourced_id": "sch-1", "name": "Lincoln Elementary"},
            ],
            "total": 2,
            "limit": 50,
            "offset": 0,
        }
    second = (await analytics.get(URL, params={"limit": 1, "offset": 1}, headers=auth("admin"))).json()
    assert second["items"] == [{"sourced_id": "sch-1", "name": "Lincoln Elementary"}] and second["total"] == 2


async def test_a_school_marked_deleted_leaves_the_list(
    analytics: httpx.AsyncClient, auth: TokenFactory
) -> None:
    assert (await upload(analytics, auth("edtech"))).status_code == 200
    orgs = "sourcedId,status,dateLastModified,name,type,identifier,parentSourcedId\n"
    orgs += "sch-2,tobedeleted,2026-02-01,Adams Middle,school,,dist\n"
    orgs += "sch-3,active,2026-02-01,Carver High,school,,dist\n"
    assert (await upload(analytics, auth("edtech"), {"orgs.csv": orgs})).status_code == 200
    items = (await analytics.get(URL, headers=auth("edtech"))).json()["items"]
    assert [s["sourced_id"] for s in items] == ["sch-3", "sch-1"]


async def test_schools_are_the_districts_own_and_vendors_are_refused(
    analytics: httpx.AsyncClient, auth: TokenFactory
) -> None:
    assert (await upload(analytics, auth("edtech"), FILES)).status_code == 200
    other = auth("admin", district_id=f"other-{uuid.uuid4().hex[:6]}")
    assert (await analytics.get(URL, headers=other)).json()["total"] == 0
    r = await analytics.get(URL, headers=auth("vendor"))
    assert r.status_code == 403 and r.headers["content-type"].startswith("application/problem+json")
    assert (await analytics.get(URL)).status_code == 401


@pytest.mark.parametrize(
    ("params", "field"),
    [({"limit": "0"}, "limit"), ({"limit": "many"}, "limit"), ({"offset": "-3"}, "offset")],
)
async def test_schools_bad_paging(
    analytics: httpx.AsyncClient, auth: TokenFactory, params: dict[str, str], field: str
) -> None:
    r = await analytics.get(URL, params=params, headers=auth("admin"))
    assert r.status_code == 422 and r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["errors"][0]["field"] == field
