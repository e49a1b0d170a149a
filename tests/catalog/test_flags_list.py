"""GET /api/catalog/flags: the district's flags over every tool, filtered and paged, on PostgreSQL."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from tests.catalog.helpers import BASE, register
from tests.fixtures.auth import TokenFactory


async def flag(
    api: httpx.AsyncClient, auth: TokenFactory, tool_id: str, kind: str, note: str
) -> dict[str, Any]:
    r = await api.post(
        f"{BASE}/tools/{tool_id}/flags", json={"kind": kind, "note": note}, headers=auth("edtech")
    )
    assert r.status_code == 201, r.text
    return dict(r.json())


async def listed(api: httpx.AsyncClient, headers: dict[str, str], **params: Any) -> dict[str, Any]:
    r = await api.get(f"{BASE}/flags", params=params, headers=headers)
    assert r.status_code == 200, r.text
    return dict(r.json())


async def test_district_flags_filtered_and_paged(api: httpx.AsyncClient, auth: TokenFactory) -> None:
    a, b = await register(api, auth), await register(api, auth)
    review_a = await flag(api, auth, a["id"], "review", "lost class time in period 3")
    candidate_a = await flag(api, auth, a["id"], "removal_candidate", "duplicate of Desmos")
    review_b = await flag(api, auth, b["id"], "review", "teachers ask for training")
    r = await api.post(f"{BASE}/tools/{b['id']}/flags/{review_b['id']}/resolve", headers=auth("edtech"))
    assert r.status_code == 200
    other = await register(api, auth)  # another tool of the district, never flagged
    assert other["id"] not in {a["id"], b["id"]}

    everything = await listed(api, auth("edtech"))
    assert everything["total"] == 3
    assert [f["id"] for f in everything["items"]] == [review_b["id"], candidate_a["id"], review_a["id"]]

    open_ = await listed(api, auth("admin"), open="true")
    assert open_["total"] == 2 and {f["id"] for f in open_["items"]} == {candidate_a["id"], review_a["id"]}
    assert all(f["resolved_at"] is None for f in open_["items"])
    closed = await listed(api, auth("specialist"), open="false")
    assert [f["id"] for f in closed["items"]] == [review_b["id"]] and closed["items"][0]["resolved_at"]

    reviews = await listed(api, auth("edtech"), kind="review")
    assert {f["id"] for f in reviews["items"]} == {review_a["id"], review_b["id"]}
    open_reviews = await listed(api, auth("edtech"), kind="review", open="true")
    assert [f["id"] for f in open_reviews["items"]] == [review_a["id"]]
    of_b = await listed(api, auth("edtech"), tool_id=b["id"])
    assert [f["id"] for f in of_b["items"]] == [review_b["id"]]
    assert (await listed(api, auth("edtech"), tool_id=other["id"]))["total"] == 0

    first = await listed(api, auth("edtech"), limit=2)
    second = await listed(api, auth("edtech"), limit=2, offset=2)
    assert first["total"] == second["total"] == 3 and (first["limit"], second["offset"]) == (2, 2)
    assert [f["id"] for f in first["items"] + second["items"]] == [f["id"] for f in everything["items"]]


async def test_district_flags_equal_the_per_tool_lists(api: httpx.AsyncClient, auth: TokenFactory) -> None:
    tools = [await register(api, auth) for _ in range(3)]
    for i, t in enumerate(tools):
        for k in range(i + 1):
            await flag(api, auth, t["id"], "review" if k % 2 else "removal_candidate", f"note {k}")
    per_tool = []
    for t in tools:
        per_tool += (await api.get(f"{BASE}/tools/{t['id']}/flags", headers=auth("edtech"))).json()["items"]
    district = await listed(api, auth("edtech"), open="true", limit=500)
    assert sorted(f["id"] for f in district["items"]) == sorted(f["id"] for f in per_tool)
    assert district["total"] == 6


async def test_district_flags_are_the_districts_own(api: httpx.AsyncClient, auth: TokenFactory) -> None:
    tool = await register(api, auth)
    await flag(api, auth, tool["id"], "review", "mine")
    other = auth("edtech", district_id=f"other-{uuid.uuid4().hex[:6]}")
    assert (await listed(api, other))["total"] == 0
    assert (await listed(api, other, tool_id=tool["id"]))["items"] == []
    assert (await listed(api, auth("teacher")))["total"] == 1  # any of the district's people, as per tool


async def test_district_flags_roles(api: httpx.AsyncClient, auth: TokenFactory) -> None:
    assert (await api.get(f"{BASE}/flags", headers=auth("vendor"))).status_code == 403
    assert (await api.get(f"{BASE}/flags")).status_code == 401


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"open": "maybe"}, "open"),
        ({"kind": "delete_now"}, "kind"),
        ({"tool_id": "not-a-uuid"}, "tool_id"),
        ({"limit": "0"}, "limit"),
        ({"limit": "501"}, "limit"),
        ({"offset": "-1"}, "offset"),
    ],
)
async def test_district_flags_bad_filters(
    api: httpx.AsyncClient, auth: TokenFactory, params: dict[str, str], field: str
) -> None:
    r = await api.get(f"{BASE}/flags", params=params, headers=auth("edtech"))
    assert r.status_code == 422 and r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["errors"][0]["field"] == field
