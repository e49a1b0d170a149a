"""Every id a pilots write names belongs to the caller's district (`shared.ownership`).

Pilots own pilots, their teachers, slots, cycles and instruments (looked up in the caller's
district: 404 in a path, 422 in a body); catalog tools are known from the catalog's events, and a
catalog event of one district never creates or changes another district's copy.
"""

from __future__ import annotations

import datetime as dt
import uuid

import httpx
from fastapi import FastAPI
from sqlalchemy import select

from services.pilots.models import CoachingCycle, ErrorLog, Observation, SurveyResponse, Tool
from shared.events import ToolRegistered, ToolStatusChanged
from tests.fixtures.auth import TokenFactory
from tests.pilots.conftest import TEACHERS, catalog_tool, feed, message, plan, started_pilot

PILOTS = "/api/pilots/pilots"


async def copies(app: FastAPI, tool_id: uuid.UUID) -> list[tuple[str, str, str]]:
    """Every district's copy of a tool: (district, name, status)."""
    async with app.state.runtime.db.transaction() as session:
        rows = (await session.scalars(select(Tool).where(Tool.id == tool_id))).all()
    return [(t.district_id, t.name, t.status) for t in rows]


async def test_a_catalog_event_never_changes_another_districts_tool_copy(
    pilots_app: FastAPI, pilots: httpx.AsyncClient, auth: TokenFactory, district: str
) -> None:
    other = f"other-{uuid.uuid4().hex[:10]}"
    tool_id = await catalog_tool(pilots_app, district, status="approved_for_pilot", name="Desmos")
    later = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)
    await feed(
        pilots_app,
        message(ToolRegistered(tool_id=tool_id, tool_name="Forged", status="proposed"), district_id=other),
    )
    await feed(
        pilots_app,
        message(
            ToolStatusChanged(
                tool_id=tool_id,
                tool_name="Forged",
                from_status="approved_for_pilot",
                to_status="rejected",
                changed_at=later,
            ),
            district_id=other,
        ),
    )
    assert await copies(pilots_app, tool_id) == [(district, "Desmos", "approved_for_pilot")]
    stranger = auth("edtech", district_id=other)
    assert (await pilots.get("/api/pilots/tools", headers=stranger)).json()["total"] == 0
    r = await pilots.post(PILOTS, json=plan(tool_id), headers=stranger)
    assert r.status_code == 422, r.text
    assert r.json()["errors"] == [{"field": "tool_id", "message": f"unknown tool {tool_id} in this district"}]
    assert (await pilots.get(PILOTS, headers=stranger)).json()["total"] == 0
    # the owner still plans pilots of it
    r = await pilots.post(PILOTS, json=plan(tool_id), headers=auth("edtech"))
    assert r.status_code == 201, r.text


async def test_writes_into_another_districts_pilot_are_404_and_store_nothing(
    pilots_app: FastAPI, pilots: httpx.AsyncClient, auth: TokenFactory, district: str
) -> None:
    pilot = await started_pilot(pilots_app, pilots, auth, district)
    pid, teacher = pilot["id"], TEACHERS[0]
    other = f"other-{uuid.uuid4().hex[:10]}"
    staff = auth("edtech", "specialist", district_id=other)
    writes = [
        ("POST", "/observations", staff, {"teacher_id": teacher, "observed_on": pilot["start_date"],
                                          "intervals": [{"on_task": 20, "present": 24}]}),
        ("POST", "/errors", staff, {"what_failed": "login loop", "occurred_at": "2026-03-03T09:00:00Z",
                                    "severity": "high", "teacher_id": teacher}),
        ("POST", "/coaching-cycles", staff, {"teacher_id": teacher, "start_date": pilot["start_date"]}),
        ("POST", "/surveys/TTIS/responses", auth("teacher", subject=teacher, district_id=other),
         {"phase": "pre", "answers": {"ttis_1": 3}}),
        ("POST", "/evaluate", staff, None),
        ("POST", "/decision", staff, {"decision": "adopt", "rationale": "worked"}),
        ("POST", "/cancel", staff, {"reason": "not ours"}),
    ]  # fmt: skip
    for method, path, headers, body in writes:
        r = await pilots.request(method, f"{PILOTS}/{pid}{path}", json=body, headers=headers)
        assert r.status_code == 404, (path, r.text)
        assert r.headers["content-type"] == "application/problem+json"

    mine = await pilots.get(f"{PILOTS}/{pid}", headers=auth("edtech"))
    assert mine.json()["status"] == "active"
    async with pilots_app.state.runtime.db.transaction() as session:
        for model in (Observation, ErrorLog, CoachingCycle, SurveyResponse):
            stored = (await session.scalars(select(model).where(model.pilot_id == uuid.UUID(pid)))).all()
            assert stored == [], model.__name__
