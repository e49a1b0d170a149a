"""Error logs: `error-logged` events and the recurring-period pattern on a crafted week of failures."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from fastapi import FastAPI

from tests.fixtures.auth import TokenFactory
from tests.pilots.conftest import outbox_events, started_pilot

PILOTS = "/api/pilots/pilots"


def error(at: str, period: str | None, **extra: Any) -> dict[str, Any]:
    """An error log body."""
    return {
        "what_failed": "quiz would not load",
        "occurred_at": at,
        "class_period": period,
        "severity": "high",
        **extra,
    }


async def test_crafted_week_reveals_the_recurring_period(
    pilots_app: FastAPI, pilots: httpx.AsyncClient, auth: TokenFactory, district: str
) -> None:
    pilot = await started_pilot(pilots_app, pilots, auth, district)
    url = f"{PILOTS}/{pilot['id']}/errors"
    week = [
        error("2026-03-09T09:10:00Z", "3"),  # Monday, period 3
        error("2026-03-09T11:30:00Z", "5"),  # Monday, period 5
        error("2026-03-10T09:12:00Z", "3"),  # Tuesday, period 3
        error("2026-03-13T13:00:00Z", "2"),  # Friday, period 2, three times the same day
        error("2026-03-13T13:05:00Z", "2"),
        error("2026-03-13T13:20:00Z", "2"),
        error("2026-03-12T11:40:00Z", "5"),  # Thursday, period 5 (two days only)
    ]
    for body in week:
        r = await pilots.post(url, json=body, headers=auth("specialist"))
        assert r.status_code == 201, r.text
        assert r.json()["pattern"] is None
    r = await pilots.post(
        url,
        json=error(
            "2026-03-11T09:05:00+00:00",
            "3",
            device="Chromebook",
            platform="ChromeOS 126",
            category="load",
            teacher_id="teacher-a",
        ),
        headers=auth("specialist"),
    )
    assert r.status_code == 201, r.text
    pattern = r.json()["pattern"]
    assert pattern["class_period"] == "3"
    assert pattern["days"] == ["2026-03-09", "2026-03-10", "2026-03-11"]
    assert pattern["occurrences"] == 3

    report = (await pilots.get(f"{PILOTS}/{pilot['id']}/error-patterns", headers=auth("edtech"))).json()
    assert (report["min_days"], report["window_days"]) == (3, 7)
    assert [(p["class_period"], p["days"], p["tool_id"]) for p in report["patterns"]] == [
        ("3", ["2026-03-09", "2026-03-10", "2026-03-11"], pilot["tool_id"])
    ]

    events = [
        e for e in await outbox_events(pilots_app, pilot["tool_id"]) if e.type == "org.edtech.error.logged.v1"
    ]
    assert len(events) == 8
    last = events[-1]
    assert last.districtid == district
    assert last.data == {
        "tool_id": pilot["tool_id"],
        "error_id": r.json()["id"],
        "pilot_id": pilot["id"],
        "occurred_at": "2026-03-11T09:05:00Z",
        "class_period": "3",
        "severity": "high",
        "platform": "Chromebook / ChromeOS 126",
        "category": "load",
        "description": "quiz would not load",
        "source": "pilot",
    }

    r = await pilots.put("/api/pilots/settings", json={"error_pattern_days": 2}, headers=auth("edtech"))
    assert r.status_code == 200
    report = (await pilots.get(f"{PILOTS}/{pilot['id']}/error-patterns", headers=auth("edtech"))).json()
    assert [p["class_period"] for p in report["patterns"]] == ["3", "5"]


async def test_who_may_log_what(
    pilots_app: FastAPI, pilots: httpx.AsyncClient, auth: TokenFactory, district: str
) -> None:
    pilot = await started_pilot(pilots_app, pilots, auth, district)
    url = f"{PILOTS}/{pilot['id']}/errors"
    teacher_b = auth("teacher", subject="teacher-b")
    r = await pilots.post(url, json=error("2026-03-09T09:10:00Z", "4"), headers=teacher_b)
    assert r.status_code == 201, r.text
    assert (r.json()["teacher_id"], r.json()["reported_by"]) == ("teacher-b", "teacher-b")
    r = await pilots.post(
        url, json=error("2026-03-09T09:10:00Z", "4", teacher_id="teacher-a"), headers=teacher_b
    )
    assert (r.status_code, r.json()["errors"][0]["field"]) == (422, "teacher_id")
    r = await pilots.post(
        url, json=error("2026-03-09T09:10:00Z", "4"), headers=auth("teacher", subject="nobody")
    )
    assert r.status_code == 404
    r = await pilots.post(url, json=error("2026-03-09T09:10:00", "4"), headers=auth("specialist"))
    assert (r.status_code, r.json()["errors"][0]["field"]) == (422, "occurred_at")
    r = await pilots.post(
        url, json=error("2026-03-09T09:10:00Z", "4", severity="apocalyptic"), headers=auth("specialist")
    )
    assert (r.status_code, r.json()["errors"][0]["field"]) == (422, "severity")
    r = await pilots.post(url, json=error("2026-03-09T09:10:00Z", "4"), headers=auth("admin"))
    assert r.status_code == 403
    r = await pilots.post(
        f"{PILOTS}/{uuid.uuid4()}/errors", json=error("2026-03-09T09:10:00Z", "4"), headers=auth("specialist")
    )
    assert r.status_code == 404
    listed = await pilots.get(url, headers=auth("teacher", subject="teacher-a"))
    assert listed.json()["total"] == 0
