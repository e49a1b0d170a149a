"""Sunsetting: removal candidates, scheduled retirement with notice, and the job that retires tools."""

from __future__ import annotations

import datetime as dt
import uuid

import httpx
from fastapi import FastAPI

from services.catalog.sunsetting.service import retire_due
from shared.events import UtilizationDropped
from tests.catalog.helpers import BASE, adopted_tool, deliver, message, outbox_events, register
from tests.fixtures.auth import TokenFactory


def dropped(tool_id: str, teachers: list[str]) -> UtilizationDropped:
    return UtilizationDropped(
        tool_id=uuid.UUID(tool_id),
        window_start=dt.date(2026, 1, 5),
        window_end=dt.date(2026, 5, 29),
        utilization=0.18,
        threshold=0.3,
        active_teachers=4,
        licensed_teachers=22,
        teacher_ids=teachers,
    )


async def test_utilization_dropped_makes_a_removal_candidate_once(
    api: httpx.AsyncClient, auth: TokenFactory, app: FastAPI, district: str
) -> None:
    tool = await adopted_tool(api, auth)
    await deliver(app, message(dropped(tool["id"], ["t1", "t2"]), district), times=2)
    flags = (await api.get(f"{BASE}/tools/{tool['id']}/flags", headers=auth("teacher"))).json()["items"]
    assert len(flags) == 1
    flag = flags[0]
    assert flag["kind"] == "removal_candidate" and flag["source"] == "utilization_dropped"
    assert flag["data"]["teacher_ids"] == ["t1", "t2"] and flag["data"]["utilization"] == 0.18
    assert "18%" in flag["note"] and flag["event_id"]
    candidates = (await api.get(f"{BASE}/sunsetting/candidates", headers=auth("admin"))).json()
    assert [c["tool_id"] for c in candidates["items"]] == [tool["id"]]


async def test_flag_by_hand_and_resolve(api: httpx.AsyncClient, auth: TokenFactory) -> None:
    tool = await register(api, auth)
    r = await api.post(
        f"{BASE}/tools/{tool['id']}/flags",
        json={"kind": "removal_candidate", "note": "duplicate of Desmos"},
        headers=auth("edtech"),
    )
    assert r.status_code == 201 and r.json()["source"] == "manual"
    flag_id = r.json()["id"]
    assert (await api.get(f"{BASE}/sunsetting/candidates", headers=auth("edtech"))).json()["total"] == 1
    r = await api.post(f"{BASE}/tools/{tool['id']}/flags/{flag_id}/resolve", headers=auth("edtech"))
    assert r.status_code == 200 and r.json()["resolved_at"]
    assert (await api.get(f"{BASE}/sunsetting/candidates", headers=auth("edtech"))).json()["total"] == 0
    r = await api.post(
        f"{BASE}/tools/{tool['id']}/flags", json={"kind": "delete_now", "note": "x"}, headers=auth("edtech")
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "kind"
    r = await api.post(
        f"{BASE}/tools/{tool['id']}/flags", json={"kind": "review", "note": "x"}, headers=auth("teacher")
    )
    assert r.status_code == 403


async def test_schedule_retirement_default_notice_and_no_teachers_from_a_flag(
    api: httpx.AsyncClient, auth: TokenFactory, app: FastAPI, district: str
) -> None:
    tool = await adopted_tool(api, auth)
    await deliver(app, message(dropped(tool["id"], ["t-7", "t-9"]), district))
    # whom to tell comes from actual use, which only analytics knows (none is configured here): the
    # teachers of the latest utilization-dropped flag are no answer
    r = await api.post(
        f"{BASE}/tools/{tool['id']}/retirement",
        json={"archive_location": "https://drive.example/archive/tool", "reason": "low use"},
        headers=auth("edtech"),
    )
    assert r.status_code == 503 and "CATALOG_ANALYTICS_URL" in r.json()["detail"]
    assert (await api.get(f"{BASE}/tools/{tool['id']}", headers=auth("edtech"))).json()["status"] == "adopted"
    r = await api.post(
        f"{BASE}/tools/{tool['id']}/retirement",
        json={
            "archive_location": "https://drive.example/archive/tool",
            "reason": "low use",
            "teacher_ids": ["t-7"],
        },
        headers=auth("edtech"),
    )
    assert r.status_code == 201, r.text
    ret = r.json()
    assert ret["teacher_ids"] == ["t-7"] and ret["notice_days"] == 30 and ret["status"] == "scheduled"
    starts = dt.datetime.fromisoformat(ret["notice_starts_at"])
    ends = dt.datetime.fromisoformat(ret["notice_ends_at"])
    assert ends - starts == dt.timedelta(days=30)
    assert (await api.get(f"{BASE}/tools/{tool['id']}", headers=auth("edtech"))).json()[
        "status"
    ] == "sunsetting"
    events = await outbox_events(app, tool["id"])
    assert events[-2].data["to_status"] == "sunsetting" and "notice ends" in events[-2].data["reason"]
    assert events[-1].type == "org.edtech.tool.retirement_scheduled.v1"
    again = await api.post(
        f"{BASE}/tools/{tool['id']}/retirement",
        json={"archive_location": "x", "teacher_ids": ["t-7"]},
        headers=auth("edtech"),
    )
    assert again.status_code == 409


async def test_notice_days_follow_district_setting_and_given_teachers(
    api: httpx.AsyncClient, auth: TokenFactory
) -> None:
    await api.put(f"{BASE}/district-settings", json={"retirement_notice_days": 10}, headers=auth("edtech"))
    tool = await adopted_tool(api, auth)
    r = await api.post(
        f"{BASE}/tools/{tool['id']}/retirement",
        json={"archive_location": "s3://archive/x", "teacher_ids": ["a", "b"]},
        headers=auth("edtech"),
    )
    assert r.status_code == 201
    assert r.json()["notice_days"] == 10 and r.json()["teacher_ids"] == ["a", "b"]


async def test_only_adopted_tools_can_be_scheduled(api: httpx.AsyncClient, auth: TokenFactory) -> None:
    tool = await register(api, auth)
    r = await api.post(
        f"{BASE}/tools/{tool['id']}/retirement",
        json={"archive_location": "x", "teacher_ids": ["t-1"]},
        headers=auth("edtech"),
    )
    assert r.status_code == 409 and "allowed" in r.json()
    r = await api.post(
        f"{BASE}/tools/{tool['id']}/retirement", json={"archive_location": ""}, headers=auth("edtech")
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "archive_location"
    r = await api.post(
        f"{BASE}/tools/{tool['id']}/retirement",
        json={"archive_location": "x", "notice_days": -1},
        headers=auth("edtech"),
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "notice_days"


async def test_job_retires_when_notice_ends(
    api: httpx.AsyncClient, auth: TokenFactory, app: FastAPI, district: str
) -> None:
    tool = await adopted_tool(api, auth)
    ret = (
        await api.post(
            f"{BASE}/tools/{tool['id']}/retirement",
            json={"archive_location": "s3://a/b", "teacher_ids": ["t-1"]},
            headers=auth("edtech"),
        )
    ).json()
    ends = dt.datetime.fromisoformat(ret["notice_ends_at"])
    async with app.state.runtime.db.transaction() as session:
        retired, _ = await retire_due(session, now=ends - dt.timedelta(minutes=1), district_id=district)
    assert retired == []
    async with app.state.runtime.db.transaction() as session:
        retired, _ = await retire_due(session, now=ends + dt.timedelta(seconds=1))
    assert tool["id"] in [str(r.tool_id) for r in retired]
    assert (await api.get(f"{BASE}/tools/{tool['id']}", headers=auth("edtech"))).json()["status"] == "retired"
    got = (await api.get(f"{BASE}/tools/{tool['id']}/retirement", headers=auth("teacher"))).json()
    assert got["status"] == "retired" and got["retired_at"]
    events = await outbox_events(app, tool["id"])
    assert events[-1].data["to_status"] == "retired" and "s3://a/b" in events[-1].data["reason"]
    assert events[-1].data["actor"] == "catalog:retirement-job"


async def test_run_endpoint_retires_due_and_moving_back_cancels_at_once(
    api: httpx.AsyncClient, auth: TokenFactory
) -> None:
    due = await adopted_tool(api, auth)
    kept = await adopted_tool(api, auth)
    for tool in (due, kept):
        r = await api.post(
            f"{BASE}/tools/{tool['id']}/retirement",
            json={"archive_location": "s3://a", "notice_days": 0, "teacher_ids": ["t-1"]},
            headers=auth("edtech"),
        )
        assert r.status_code == 201
    r = await api.post(
        f"{BASE}/tools/{kept['id']}/transitions",
        json={"to_status": "adopted", "reason": "revived"},
        headers=auth("edtech"),
    )
    assert r.status_code == 200
    r = await api.post(f"{BASE}/sunsetting/run", headers=auth("edtech"))
    assert r.status_code == 200
    assert [x["tool_id"] for x in r.json()["retired"]] == [due["id"]]
    assert r.json()["cancelled"] == []  # called off when the tool moved back, not a notice period later
    kept_retirement = (await api.get(f"{BASE}/tools/{kept['id']}/retirement", headers=auth("edtech"))).json()
    assert (kept_retirement["status"], kept_retirement["cancel_reason"]) == ("cancelled", "revived")
    assert (await api.get(f"{BASE}/tools/{kept['id']}", headers=auth("edtech"))).json()["status"] == "adopted"
    assert (await api.post(f"{BASE}/sunsetting/run", headers=auth("teacher"))).status_code == 403


async def test_other_district_cannot_touch_sunsetting(api: httpx.AsyncClient, auth: TokenFactory) -> None:
    tool = await adopted_tool(api, auth)
    other = auth("edtech", district_id=f"other-{uuid.uuid4().hex[:6]}")
    r = await api.post(
        f"{BASE}/tools/{tool['id']}/retirement",
        json={"archive_location": "x", "teacher_ids": ["t-1"]},
        headers=other,
    )
    assert r.status_code == 404
    r = await api.post(
        f"{BASE}/tools/{tool['id']}/flags", json={"kind": "review", "note": "x"}, headers=other
    )
    assert r.status_code == 404
    assert (await api.get(f"{BASE}/tools/{tool['id']}/flags", headers=other)).status_code == 404
    assert (await api.get(f"{BASE}/tools/{tool['id']}/retirement", headers=other)).status_code == 404
    r = await api.post(
        f"{BASE}/tools/{tool['id']}/retirement",
        json={"archive_location": "s3://a", "notice_days": 0, "teacher_ids": ["t-1"]},
        headers=auth("edtech"),
    )
    assert r.status_code == 201
    assert (await api.post(f"{BASE}/sunsetting/run", headers=other)).json()["retired"] == []
    assert (await api.get(f"{BASE}/tools/{tool['id']}", headers=auth("edtech"))).json()[
        "status"
    ] == "sunsetting"


async def test_background_job_loop_retires_due_tools(
    api: httpx.AsyncClient, auth: TokenFactory, app: FastAPI
) -> None:
    import asyncio

    from services.catalog.sunsetting.service import retirement_job

    tool = await adopted_tool(api, auth)
    await api.post(
        f"{BASE}/tools/{tool['id']}/retirement",
        json={"archive_location": "s3://a", "notice_days": 0, "teacher_ids": ["t-1"]},
        headers=auth("edtech"),
    )
    task = asyncio.create_task(retirement_job(app.state.runtime))
    try:
        for _ in range(100):
            status = (await api.get(f"{BASE}/tools/{tool['id']}", headers=auth("edtech"))).json()["status"]
            if status == "retired":
                break
            await asyncio.sleep(0.05)
    finally:
        task.cancel()
    assert status == "retired"
