"""Tool fatigue: a district limit of new tools per school or grade team per semester."""

from __future__ import annotations

import uuid

import httpx
from fastapi import FastAPI

from tests.catalog.helpers import BASE, register, rollable_tool
from tests.fixtures.auth import TokenFactory


async def plan(
    api: httpx.AsyncClient,
    auth: TokenFactory,
    tool_id: str,
    scope_id: str = "lincoln-ms",
    scope: str = "school",
    semester: str = "2026-fall",
) -> httpx.Response:
    return await api.post(
        f"{BASE}/rollouts",
        json={"tool_id": tool_id, "scope": scope, "scope_id": scope_id, "semester": semester},
        headers=auth("edtech"),
    )


async def test_default_limit_is_five(
    api: httpx.AsyncClient, auth: TokenFactory, app: FastAPI, district: str
) -> None:
    settings = (await api.get(f"{BASE}/district-settings", headers=auth("teacher"))).json()
    assert settings["fatigue_limit"] == 5
    rollouts = []
    for _ in range(6):
        tool = await rollable_tool(api, auth, app, district)
        r = await plan(api, auth, tool["id"])
        assert r.status_code == 201, r.text
        rollouts.append(r.json())
    for rollout in rollouts[:5]:
        r = await api.post(f"{BASE}/rollouts/{rollout['id']}/approve", json={}, headers=auth("edtech"))
        assert r.status_code == 200, r.text
    r = await api.post(f"{BASE}/rollouts/{rollouts[5]['id']}/approve", json={}, headers=auth("edtech"))
    assert r.status_code == 409
    assert r.json()["limit"] == 5 and r.json()["approved_in_scope"] == 5
    assert "over the district's limit of 5" in r.json()["detail"]


async def test_over_limit_refused_or_overridden_with_reason(
    api: httpx.AsyncClient, auth: TokenFactory, app: FastAPI, district: str
) -> None:
    await api.put(f"{BASE}/district-settings", json={"fatigue_limit": 2}, headers=auth("edtech"))
    tools = [await rollable_tool(api, auth, app, district) for _ in range(3)]
    rollouts = [(await plan(api, auth, t["id"])).json() for t in tools]
    for rollout in rollouts[:2]:
        r = await api.post(f"{BASE}/rollouts/{rollout['id']}/approve", json={}, headers=auth("edtech"))
        assert r.status_code == 200 and r.json()["override_reason"] is None
    listed = (
        await api.get(f"{BASE}/rollouts", params={"scope_id": "lincoln-ms"}, headers=auth("teacher"))
    ).json()
    third = next(x for x in listed["items"] if x["id"] == rollouts[2]["id"])
    assert third["would_exceed"] is True and third["approved_in_scope"] == 2
    r = await api.post(f"{BASE}/rollouts/{rollouts[2]['id']}/approve", json={}, headers=auth("edtech"))
    assert r.status_code == 409 and r.json()["type"].endswith("/tool-fatigue")
    assert "school lincoln-ms already has 2 new tools approved or piloted for 2026-fall" in r.json()["detail"]
    r = await api.post(
        f"{BASE}/rollouts/{rollouts[2]['id']}/approve",
        json={"override_reason": "replaces two retired tools"},
        headers=auth("edtech"),
    )
    assert r.status_code == 200
    assert r.json()["status"] == "approved" and r.json()["override_reason"] == "replaces two retired tools"
    again = await api.post(f"{BASE}/rollouts/{rollouts[2]['id']}/approve", json={}, headers=auth("edtech"))
    assert again.status_code == 409


async def test_limit_counts_per_scope_and_semester(
    api: httpx.AsyncClient, auth: TokenFactory, app: FastAPI, district: str
) -> None:
    await api.put(f"{BASE}/district-settings", json={"fatigue_limit": 1}, headers=auth("edtech"))
    a, b = await rollable_tool(api, auth, app, district), await rollable_tool(api, auth, app, district)
    r = await plan(api, auth, a["id"], scope="grade_team", scope_id="grade-6-math")
    await api.post(f"{BASE}/rollouts/{r.json()['id']}/approve", json={}, headers=auth("edtech"))
    for kwargs in (
        {"scope": "grade_team", "scope_id": "grade-7-math"},
        {"scope": "grade_team", "scope_id": "grade-6-math", "semester": "2027-spring"},
        {"scope": "school", "scope_id": "grade-6-math"},
    ):
        r = await plan(api, auth, b["id"], **kwargs)
        assert r.status_code == 201, r.text
        ok = await api.post(f"{BASE}/rollouts/{r.json()['id']}/approve", json={}, headers=auth("edtech"))
        assert ok.status_code == 200, (kwargs, ok.text)


async def test_rollout_refusals_and_bad_input(
    api: httpx.AsyncClient, auth: TokenFactory, app: FastAPI, district: str
) -> None:
    proposed = await register(api, auth)
    r = await plan(api, auth, proposed["id"])
    assert r.status_code == 409 and "proposed" in r.json()["detail"]
    tool = await rollable_tool(api, auth, app, district)
    assert (await plan(api, auth, tool["id"])).status_code == 201
    assert (await plan(api, auth, tool["id"])).status_code == 409
    r = await plan(api, auth, tool["id"], semester="fall")
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "semester"
    r = await plan(api, auth, tool["id"], scope="district")
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "scope"
    await api.put(
        f"{BASE}/tools/{tool['id']}/checklist/privacy",
        json={"result": "fail", "evidence": "breach"},
        headers=auth("edtech"),
    )
    r = await plan(api, auth, tool["id"], scope_id="other-school")
    assert r.status_code == 409 and r.json()["type"].endswith("/privacy-failure")


async def test_other_district_cannot_approve_or_plan(
    api: httpx.AsyncClient, auth: TokenFactory, app: FastAPI, district: str
) -> None:
    tool = await rollable_tool(api, auth, app, district)
    rollout = (await plan(api, auth, tool["id"])).json()
    other = auth("edtech", district_id=f"other-{uuid.uuid4().hex[:6]}")
    r = await api.post(f"{BASE}/rollouts/{rollout['id']}/approve", json={}, headers=other)
    assert r.status_code == 404
    r = await api.post(
        f"{BASE}/rollouts",
        json={"tool_id": tool["id"], "scope": "school", "scope_id": "x", "semester": "2026-fall"},
        headers=other,
    )
    assert r.status_code == 422  # a body's id: unprocessable, naming the field
    assert r.json()["errors"] == [
        {"field": "tool_id", "message": f"unknown tool {tool['id']} in this district"}
    ]
    assert (await api.get(f"{BASE}/rollouts", headers=other)).json()["total"] == 0
    r = await api.post(f"{BASE}/rollouts/{rollout['id']}/approve", json={}, headers=auth("specialist"))
    assert r.status_code == 403


async def test_concurrent_approvals_cannot_both_pass_the_limit(
    api: httpx.AsyncClient, auth: TokenFactory, app: FastAPI, district: str
) -> None:
    import asyncio

    await api.put(f"{BASE}/district-settings", json={"fatigue_limit": 1}, headers=auth("edtech"))
    tools = [await rollable_tool(api, auth, app, district) for _ in range(2)]
    rollouts = [(await plan(api, auth, t["id"], scope_id="race-school")).json() for t in tools]
    results = await asyncio.gather(
        *(api.post(f"{BASE}/rollouts/{r['id']}/approve", json={}, headers=auth("edtech")) for r in rollouts)
    )
    assert sorted(r.status_code for r in results) == [200, 409]
