"""Pilot plans and their lifecycle: refusals, transitions and the events they publish."""

from __future__ import annotations

import uuid

import httpx
from fastapi import FastAPI

from tests.fixtures.auth import TokenFactory
from tests.pilots.conftest import TEACHERS, catalog_tool, outbox_events, plan

PILOTS = "/api/pilots/pilots"


async def test_full_lifecycle_publishes_started_and_completed(
    pilots_app: FastAPI, pilots: httpx.AsyncClient, auth: TokenFactory, district: str
) -> None:
    tool_id = await catalog_tool(pilots_app, district)
    r = await pilots.post(PILOTS, json=plan(tool_id), headers=auth("edtech"))
    assert r.status_code == 201, r.text
    pilot = r.json()
    assert (pilot["status"], pilot["weeks"], pilot["teacher_ids"]) == ("planned", 4, TEACHERS)
    assert (pilot["start_date"], pilot["end_date"]) == ("2026-03-02", "2026-03-29")
    pid = pilot["id"]

    r = await pilots.post(f"{PILOTS}/{pid}/start", headers=auth("edtech"))
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "active"
    r = await pilots.post(f"{PILOTS}/{pid}/evaluate", headers=auth("edtech"))
    assert r.json()["status"] == "evaluating"
    r = await pilots.post(
        f"{PILOTS}/{pid}/decision",
        headers=auth("edtech"),
        json={"decision": "adopt", "rationale": "time-on-task up, TAM 90% positive"},
    )
    assert r.status_code == 200, r.text
    decided = r.json()
    assert (decided["status"], decided["decision"]) == ("decided", "adopt")
    assert decided["rationale"] == "time-on-task up, TAM 90% positive"

    events = await outbox_events(pilots_app, str(tool_id))
    assert [e.type for e in events] == ["org.edtech.pilot.started.v1", "org.edtech.pilot.completed.v1"]
    started, completed = events
    assert started.districtid == district
    assert started.subject == f"pilots/{pid}"
    assert started.data == {
        "tool_id": str(tool_id),
        "pilot_id": pid,
        "teacher_ids": TEACHERS,
        "start_date": "2026-03-02",
        "end_date": "2026-03-29",
        "classes": ["Algebra I (period 3)", "Algebra I (period 5)"],
        "school_id": None,
    }
    assert completed.data["decision"] == "adopt"
    assert completed.data["rationale"] == "time-on-task up, TAM 90% positive"
    assert completed.data["new_end_date"] is None

    r = await pilots.get(f"{PILOTS}/{pid}/history", headers=auth("admin"))
    assert [(h["from_status"], h["to_status"]) for h in r.json()] == [
        (None, "planned"),
        ("planned", "active"),
        ("active", "evaluating"),
        ("evaluating", "decided"),
    ]


async def test_unapproved_tool_is_refused_with_its_status(
    pilots_app: FastAPI, pilots: httpx.AsyncClient, auth: TokenFactory, district: str
) -> None:
    tool_id = await catalog_tool(pilots_app, district, status="vetting", name="Kahoot")
    r = await pilots.post(PILOTS, json=plan(tool_id), headers=auth("edtech"))
    assert r.status_code == 409
    assert r.headers["content-type"] == "application/problem+json"
    assert "'Kahoot' is vetting" in r.json()["detail"]
    assert r.json()["tool_status"] == "vetting"

    unknown = uuid.uuid4()
    r = await pilots.post(PILOTS, json=plan(unknown), headers=auth("edtech"))
    assert r.status_code == 422
    assert r.json()["errors"] == [{"field": "tool_id", "message": f"unknown tool {unknown} in this district"}]


async def test_seven_week_pilot_is_422_naming_weeks(
    pilots_app: FastAPI, pilots: httpx.AsyncClient, auth: TokenFactory, district: str
) -> None:
    tool_id = await catalog_tool(pilots_app, district)
    r = await pilots.post(PILOTS, json=plan(tool_id, weeks=7), headers=auth("edtech"))
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "weeks"
    assert "4 to 6 weeks" in r.json()["detail"]

    r = await pilots.post(PILOTS, json=plan(tool_id, teacher_ids=["t1", "t2"]), headers=auth("edtech"))
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "teacher_ids"

    r = await pilots.post(PILOTS, json=plan(tool_id, start_date="next monday"), headers=auth("edtech"))
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "start_date"

    body = plan(tool_id)
    body["classes"] = [{"name": "Geometry", "period": "2", "teacher_id": "stranger"}]
    r = await pilots.post(PILOTS, json=body, headers=auth("edtech"))
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "classes.0.teacher_id"

    r = await pilots.post(PILOTS, json=plan(tool_id, weeks=6), headers=auth("edtech"))
    assert r.status_code == 201
    assert r.json()["end_date"] == "2026-04-12"


async def test_decide_before_evaluating_is_409(
    pilots_app: FastAPI, pilots: httpx.AsyncClient, auth: TokenFactory, district: str
) -> None:
    tool_id = await catalog_tool(pilots_app, district)
    pid = (await pilots.post(PILOTS, json=plan(tool_id), headers=auth("edtech"))).json()["id"]
    decision = {"decision": "adopt", "rationale": "looks good"}
    r = await pilots.post(f"{PILOTS}/{pid}/decision", json=decision, headers=auth("edtech"))
    assert r.status_code == 409
    assert "evaluate it first" in r.json()["detail"]
    await pilots.post(f"{PILOTS}/{pid}/start", headers=auth("edtech"))
    r = await pilots.post(f"{PILOTS}/{pid}/decision", json=decision, headers=auth("edtech"))
    assert r.status_code == 409
    r = await pilots.post(f"{PILOTS}/{pid}/start", headers=auth("edtech"))
    assert r.status_code == 409
    assert [e.type for e in await outbox_events(pilots_app, str(tool_id))] == ["org.edtech.pilot.started.v1"]


async def test_extend_adds_weeks_within_the_maximum(
    pilots_app: FastAPI, pilots: httpx.AsyncClient, auth: TokenFactory, district: str
) -> None:
    tool_id = await catalog_tool(pilots_app, district)
    pid = (await pilots.post(PILOTS, json=plan(tool_id, weeks=5), headers=auth("edtech"))).json()["id"]
    await pilots.post(f"{PILOTS}/{pid}/start", headers=auth("edtech"))
    await pilots.post(f"{PILOTS}/{pid}/evaluate", headers=auth("edtech"))

    r = await pilots.post(
        f"{PILOTS}/{pid}/decision",
        headers=auth("edtech"),
        json={"decision": "extend", "rationale": "need more data", "extend_weeks": 2},
    )
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "extend_weeks"

    r = await pilots.post(
        f"{PILOTS}/{pid}/decision",
        headers=auth("edtech"),
        json={"decision": "extend", "rationale": "need more data", "extend_weeks": 1},
    )
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["weeks"], r.json()["end_date"]) == ("active", 6, "2026-04-12")
    schedule = (
        await pilots.get(
            f"{PILOTS}/{pid}/schedule", params={"limit": 500, "as_of": "2026-03-01"}, headers=auth("edtech")
        )
    ).json()
    assert schedule["total"] == 6 * 2 * 3
    assert max(s["week"] for s in schedule["items"]) == 6

    completed = (await outbox_events(pilots_app, str(tool_id)))[-1]
    assert completed.data["decision"] == "extend"
    assert completed.data["new_end_date"] == "2026-04-12"


async def test_roles_and_cancel(
    pilots_app: FastAPI, pilots: httpx.AsyncClient, auth: TokenFactory, district: str
) -> None:
    tool_id = await catalog_tool(pilots_app, district)
    r = await pilots.post(PILOTS, json=plan(tool_id), headers=auth("teacher"))
    assert r.status_code == 403
    pid = (await pilots.post(PILOTS, json=plan(tool_id), headers=auth("edtech"))).json()["id"]
    r = await pilots.post(f"{PILOTS}/{pid}/start", headers=auth("specialist"))
    assert r.status_code == 403

    mine = await pilots.get(f"{PILOTS}/{pid}", headers=auth("teacher", subject="teacher-b"))
    assert mine.status_code == 200
    other = await pilots.get(f"{PILOTS}/{pid}", headers=auth("teacher", subject="teacher-z"))
    assert other.status_code == 404
    listed = await pilots.get(PILOTS, headers=auth("teacher", subject="teacher-z"))
    assert listed.json()["total"] == 0
    assert (await pilots.get(PILOTS, headers=auth("admin"))).json()["total"] == 1

    r = await pilots.post(f"{PILOTS}/{pid}/cancel", json={"reason": "teacher left"}, headers=auth("edtech"))
    assert r.json()["status"] == "cancelled"
    r = await pilots.post(f"{PILOTS}/{pid}/start", headers=auth("edtech"))
    assert r.status_code == 409


async def test_other_district_gets_404_everywhere(
    pilots_app: FastAPI, pilots: httpx.AsyncClient, auth: TokenFactory, district: str
) -> None:
    tool_id = await catalog_tool(pilots_app, district)
    pid = (await pilots.post(PILOTS, json=plan(tool_id), headers=auth("edtech"))).json()["id"]
    stranger = auth("edtech", "specialist", "admin", district_id="elsewhere")
    for method, path in [
        ("GET", ""),
        ("POST", "/start"),
        ("POST", "/evaluate"),
        ("POST", "/cancel"),
        ("GET", "/schedule"),
        ("GET", "/observations"),
        ("GET", "/errors"),
        ("GET", "/report"),
        ("GET", "/surveys/results"),
        ("GET", "/coaching-cycles"),
        ("GET", "/history"),
        ("GET", "/error-patterns"),
    ]:
        r = await pilots.request(method, f"{PILOTS}/{pid}{path}", headers=stranger)
        assert r.status_code == 404, (method, path, r.text)
        assert r.headers["content-type"] == "application/problem+json"
    r = await pilots.post(PILOTS, json=plan(tool_id), headers=stranger)
    assert r.status_code == 422  # the tool is not in the other district's catalog
    assert r.json()["errors"][0]["field"] == "tool_id"
    assert (await pilots.get(PILOTS, headers=stranger)).json()["total"] == 0


async def test_start_may_move_the_start_date(
    pilots_app: FastAPI, pilots: httpx.AsyncClient, auth: TokenFactory, district: str
) -> None:
    tool_id = await catalog_tool(pilots_app, district)
    pid = (await pilots.post(PILOTS, json=plan(tool_id), headers=auth("edtech"))).json()["id"]
    r = await pilots.post(f"{PILOTS}/{pid}/start", json={"start_date": "soon"}, headers=auth("edtech"))
    assert (r.status_code, r.json()["errors"][0]["field"]) == (422, "start_date")
    r = await pilots.post(f"{PILOTS}/{pid}/start", json={"start_date": "2026-03-09"}, headers=auth("edtech"))
    assert r.status_code == 200, r.text
    assert (r.json()["start_date"], r.json()["end_date"]) == ("2026-03-09", "2026-04-05")
    first = (await pilots.get(f"{PILOTS}/{pid}/schedule", params={"limit": 1}, headers=auth("edtech"))).json()
    assert first["items"][0]["scheduled_on"] == "2026-03-10"
    [started] = await outbox_events(pilots_app, str(tool_id))
    assert (started.data["start_date"], started.data["end_date"]) == ("2026-03-09", "2026-04-05")


async def test_cancel_publishes_pilot_cancelled_with_the_pilots_still_running(
    pilots_app: FastAPI, pilots: httpx.AsyncClient, auth: TokenFactory, district: str
) -> None:
    tool_id = await catalog_tool(pilots_app, district)
    first = (await pilots.post(PILOTS, json=plan(tool_id), headers=auth("edtech"))).json()["id"]
    second = (await pilots.post(PILOTS, json=plan(tool_id), headers=auth("edtech"))).json()["id"]
    for pid in (first, second):
        assert (await pilots.post(f"{PILOTS}/{pid}/start", headers=auth("edtech"))).status_code == 200

    await pilots.post(f"{PILOTS}/{first}/cancel", json={"reason": "school closed"}, headers=auth("edtech"))
    one_left = (await outbox_events(pilots_app, str(tool_id)))[-1]
    await pilots.post(f"{PILOTS}/{second}/cancel", json={}, headers=auth("edtech"))
    none_left = (await outbox_events(pilots_app, str(tool_id)))[-1]

    assert one_left.type == "org.edtech.pilot.cancelled.v1"
    assert (one_left.data["pilot_id"], one_left.data["reason"]) == (first, "school closed")
    assert (one_left.data["was_started"], one_left.data["active_pilots_remaining"]) == (True, 1)
    assert (none_left.data["pilot_id"], none_left.data["active_pilots_remaining"]) == (second, 0)
