"""Teacher tool requests: a request enters the catalog as `proposed`; teachers see their own."""

from __future__ import annotations

import uuid

import httpx
from fastapi import FastAPI

from tests.catalog.helpers import BASE, outbox_events
from tests.fixtures.auth import TokenFactory


async def test_teacher_request_proposes_a_tool(
    api: httpx.AsyncClient, auth: TokenFactory, app: FastAPI, district: str
) -> None:
    body = {
        "tool": {"name": "Padlet", "subjects": ["ela"], "grade_bands": ["3-5"]},
        "justification": "Exit tickets for my 4th graders",
        "school_id": "lincoln-es",
    }
    r = await api.post(f"{BASE}/requests", json=body, headers=auth("teacher", subject="teacher-ann"))
    assert r.status_code == 201, r.text
    request = r.json()
    assert request["requested_by"] == "teacher-ann" and request["tool"]["status"] == "proposed"
    events = await outbox_events(app, request["tool"]["id"])
    assert [e.type for e in events] == ["org.edtech.tool.registered.v1"]
    assert events[0].data["tool_name"] == "Padlet" and events[0].districtid == district
    history = (await api.get(f"{BASE}/tools/{request['tool']['id']}/history", headers=auth("teacher"))).json()
    assert history[0]["actor"] == "teacher-ann" and "Exit tickets" in history[0]["reason"]


async def test_teachers_see_their_own_requests_edtech_sees_all(
    api: httpx.AsyncClient, auth: TokenFactory
) -> None:
    body = {"tool": {"name": "Kami"}, "justification": "PDF annotation"}
    mine = (await api.post(f"{BASE}/requests", json=body, headers=auth("teacher", subject="t-a"))).json()
    theirs = (await api.post(f"{BASE}/requests", json=body, headers=auth("teacher", subject="t-b"))).json()
    own = (await api.get(f"{BASE}/requests", headers=auth("teacher", subject="t-a"))).json()
    assert [x["id"] for x in own["items"]] == [mine["id"]]
    assert (
        await api.get(f"{BASE}/requests/{theirs['id']}", headers=auth("teacher", subject="t-a"))
    ).status_code == 404
    everyone = (await api.get(f"{BASE}/requests", headers=auth("edtech"))).json()
    assert {x["id"] for x in everyone["items"]} == {mine["id"], theirs["id"]}
    assert (await api.get(f"{BASE}/requests/{theirs['id']}", headers=auth("edtech"))).status_code == 200


async def test_other_district_and_bad_input(api: httpx.AsyncClient, auth: TokenFactory) -> None:
    body = {"tool": {"name": "Seesaw"}, "justification": "Portfolios"}
    req = (await api.post(f"{BASE}/requests", json=body, headers=auth("teacher"))).json()
    other = auth("edtech", district_id=f"other-{uuid.uuid4().hex[:6]}")
    assert (await api.get(f"{BASE}/requests/{req['id']}", headers=other)).status_code == 404
    assert (await api.get(f"{BASE}/requests", headers=other)).json()["total"] == 0
    r = await api.post(f"{BASE}/requests", json={"tool": {"name": "X"}}, headers=auth("teacher"))
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "justification"
    r = await api.post(
        f"{BASE}/requests", json={"tool": {"name": ""}, "justification": "x"}, headers=auth("teacher")
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "tool.name"
