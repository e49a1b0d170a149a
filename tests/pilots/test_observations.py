"""The observation schedule (done / due / missed) and time-on-task arithmetic on known numbers."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
from fastapi import FastAPI

from services.pilots.observations.service import slot_dates
from tests.fixtures.auth import TokenFactory
from tests.pilots.conftest import started_pilot

PILOTS = "/api/pilots/pilots"


def observation(teacher: str, day: str, intervals: list[tuple[int, int]], **extra: Any) -> dict[str, Any]:
    """An observation body."""
    return {
        "teacher_id": teacher,
        "observed_on": day,
        "intervals": [{"on_task": a, "present": b} for a, b in intervals],
        **extra,
    }


def test_slots_spread_over_school_days() -> None:
    monday = dt.date(2026, 3, 2)
    assert slot_dates(monday, 2) == [dt.date(2026, 3, 3), dt.date(2026, 3, 5)]  # Tuesday, Thursday
    assert slot_dates(monday, 3) == [dt.date(2026, 3, 2), dt.date(2026, 3, 4), dt.date(2026, 3, 6)]
    assert slot_dates(dt.date(2026, 3, 4), 2) == [
        dt.date(2026, 3, 5),
        dt.date(2026, 3, 9),
    ]  # skips the weekend


async def test_schedule_lists_done_due_and_missed(
    pilots_app: FastAPI, pilots: httpx.AsyncClient, auth: TokenFactory, district: str
) -> None:
    pilot = await started_pilot(pilots_app, pilots, auth, district)
    pid = pilot["id"]
    r = await pilots.get(
        f"{PILOTS}/{pid}/schedule", params={"limit": 500, "as_of": "2026-03-01"}, headers=auth("specialist")
    )
    schedule = r.json()
    assert schedule["total"] == 4 * 2 * 3
    assert schedule["counts"] == {"done": 0, "due": 24, "missed": 0}
    a_days = [s["scheduled_on"] for s in schedule["items"] if s["teacher_id"] == "teacher-a"]
    assert a_days == [
        "2026-03-03",
        "2026-03-05",
        "2026-03-10",
        "2026-03-12",
        "2026-03-17",
        "2026-03-19",
        "2026-03-24",
        "2026-03-26",
    ]

    for body in (
        observation("teacher-a", "2026-03-03", [(18, 24), (20, 24), (22, 24)]),
        observation("teacher-b", "2026-03-05", [(10, 20), (16, 20)]),
        observation("teacher-a", "2026-03-10", [(24, 24), (12, 24)]),
    ):
        r = await pilots.post(f"{PILOTS}/{pid}/observations", json=body, headers=auth("specialist"))
        assert r.status_code == 201, r.text
        assert r.json()["slot_id"] is not None

    r = await pilots.get(f"{PILOTS}/{pid}/schedule", params={"as_of": "2026-03-11"}, headers=auth("edtech"))
    assert r.json()["counts"] == {"done": 3, "due": 15, "missed": 6}
    r = await pilots.get(
        f"{PILOTS}/{pid}/schedule", params={"as_of": "2026-03-11", "status": "missed"}, headers=auth("edtech")
    )
    missed = r.json()
    assert missed["total"] == 6
    assert {(s["teacher_id"], s["scheduled_on"]) for s in missed["items"]} == {
        ("teacher-c", "2026-03-03"),
        ("teacher-c", "2026-03-05"),
        ("teacher-c", "2026-03-10"),
        ("teacher-b", "2026-03-03"),
        ("teacher-b", "2026-03-10"),
        ("teacher-a", "2026-03-05"),
    }

    mine = await pilots.get(
        f"{PILOTS}/{pid}/schedule",
        params={"as_of": "2026-03-11"},
        headers=auth("teacher", subject="teacher-b"),
    )
    assert mine.json()["total"] == 8
    assert {s["teacher_id"] for s in mine.json()["items"]} == {"teacher-b"}


async def test_time_on_task_per_teacher_and_week(
    pilots_app: FastAPI, pilots: httpx.AsyncClient, auth: TokenFactory, district: str
) -> None:
    pid = (await started_pilot(pilots_app, pilots, auth, district))["id"]
    picrat = {"student": "interactive", "teacher": "amplification"}
    bodies = [
        observation(
            "teacher-a",
            "2026-03-03",
            [(18, 24), (20, 24), (22, 24)],
            samr_level="augmentation",
            picrat=picrat,
            class_period="3",
            notes="students graphing in pairs",
        ),
        observation("teacher-b", "2026-03-05", [(10, 20), (16, 20)], samr_level="substitution"),
        observation(
            "teacher-a", "2026-03-10", [(24, 24), (12, 24)], samr_level="augmentation", picrat=picrat
        ),
    ]
    for body in bodies:
        r = await pilots.post(f"{PILOTS}/{pid}/observations", json=body, headers=auth("edtech"))
        assert r.status_code == 201, r.text
    assert r.json()["time_on_task"] == 0.75  # 36 / 48
    assert r.json()["interval_minutes"] == 5

    summary = (await pilots.get(f"{PILOTS}/{pid}/observations/summary", headers=auth("admin"))).json()
    assert summary["overall"] == {
        "observations": 3,
        "intervals": 7,
        "on_task": 122,
        "present": 160,
        "time_on_task": 0.7625,
    }
    assert [
        (t["teacher_id"], t["on_task"], t["present"], t["time_on_task"]) for t in summary["per_teacher"]
    ] == [("teacher-a", 96, 120, 0.8), ("teacher-b", 26, 40, 0.65)]
    assert [(w["week"], w["time_on_task"]) for w in summary["per_week"]] == [(1, 0.7679), (2, 0.75)]
    assert summary["samr"] == {"augmentation": 2, "substitution": 1}
    assert summary["picrat"] == {"interactive/amplification": 2}

    listed = await pilots.get(f"{PILOTS}/{pid}/observations", headers=auth("teacher", subject="teacher-b"))
    assert [o["teacher_id"] for o in listed.json()["items"]] == ["teacher-b"]


async def test_observation_input_is_checked(
    pilots_app: FastAPI, pilots: httpx.AsyncClient, auth: TokenFactory, district: str
) -> None:
    pid = (await started_pilot(pilots_app, pilots, auth, district))["id"]
    url = f"{PILOTS}/{pid}/observations"
    r = await pilots.post(
        url, json=observation("teacher-a", "2026-03-03", [(25, 24)]), headers=auth("specialist")
    )
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "intervals.0"
    r = await pilots.post(
        url, json=observation("stranger", "2026-03-03", [(5, 24)]), headers=auth("specialist")
    )
    assert (r.status_code, r.json()["errors"][0]["field"]) == (422, "teacher_id")
    r = await pilots.post(
        url, json=observation("teacher-a", "2026-05-03", [(5, 24)]), headers=auth("specialist")
    )
    assert (r.status_code, r.json()["errors"][0]["field"]) == (422, "observed_on")
    r = await pilots.post(
        url,
        json=observation("teacher-a", "2026-03-03", [(5, 24)], samr_level="magic"),
        headers=auth("specialist"),
    )
    assert (r.status_code, r.json()["errors"][0]["field"]) == (422, "samr_level")
    r = await pilots.post(
        url, json=observation("teacher-a", "2026-03-03", [(5, 24)]), headers=auth("teacher")
    )
    assert r.status_code == 403
