"""The pilot report, the rollout plan, coaching cycles and district settings."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from tests.fixtures.auth import TokenFactory
from tests.pilots.conftest import catalog_tool, plan, started_pilot

PILOTS = "/api/pilots/pilots"


async def test_report_gathers_the_evidence_and_the_decision(
    pilots_app: FastAPI, pilots: httpx.AsyncClient, auth: TokenFactory, district: str
) -> None:
    pid = (await started_pilot(pilots_app, pilots, auth, district))["id"]
    for teacher, day, intervals in [
        ("teacher-a", "2026-03-03", [(18, 24), (22, 24)]),
        ("teacher-b", "2026-03-05", [(10, 20), (16, 20)]),
    ]:
        r = await pilots.post(
            f"{PILOTS}/{pid}/observations",
            headers=auth("specialist"),
            json={
                "teacher_id": teacher,
                "observed_on": day,
                "intervals": [{"on_task": a, "present": b} for a, b in intervals],
            },
        )
        assert r.status_code == 201, r.text
    for at in ("2026-03-03T09:00:00Z", "2026-03-04T09:00:00Z", "2026-03-05T09:00:00Z"):
        r = await pilots.post(
            f"{PILOTS}/{pid}/errors",
            headers=auth("specialist"),
            json={"what_failed": "login loop", "occurred_at": at, "class_period": "1", "severity": "medium"},
        )
        assert r.status_code == 201
    ttis = {f"ttis_{i}": 3 for i in range(1, 9)}
    for phase, value in (("pre", 3), ("post", 4)):
        r = await pilots.post(
            f"{PILOTS}/{pid}/surveys/TTIS/responses",
            json={"phase": phase, "answers": dict.fromkeys(ttis, value)},
            headers=auth("teacher", subject="teacher-c"),
        )
        assert r.status_code == 201, r.text

    r = await pilots.get(f"{PILOTS}/{pid}/rollout-plan", headers=auth("edtech"))
    assert r.status_code == 409
    await pilots.post(f"{PILOTS}/{pid}/evaluate", headers=auth("edtech"))
    await pilots.post(
        f"{PILOTS}/{pid}/decision",
        headers=auth("edtech"),
        json={"decision": "adopt", "rationale": "on-task 76%, TTIS +1"},
    )

    r = await pilots.get(f"{PILOTS}/{pid}/report", params={"as_of": "2026-03-06"}, headers=auth("admin"))
    assert r.status_code == 200, r.text
    report = r.json()
    assert report["pilot"]["id"] == pid
    assert report["schedule"] == {"done": 2, "due": 18, "missed": 4}
    assert (report["time_on_task"]["overall"]["on_task"], report["time_on_task"]["overall"]["present"]) == (
        66,
        88,
    )
    assert report["time_on_task"]["overall"]["time_on_task"] == 0.75
    assert report["ttis"]["mean_delta"] == 1.0
    assert report["tam"] == []
    assert report["errors"]["logged"] == 3
    assert report["errors"]["observed_sessions"] == 2
    assert report["errors"]["rate_per_observed_session"] == 1.5
    assert report["errors"]["by_severity"] == {"medium": 3}
    assert [p["class_period"] for p in report["errors"]["patterns"]] == ["1"]
    assert report["usage"] is None  # no analytics configured
    assert report["decision"]["decision"] == "adopt"
    assert report["decision"]["rationale"] == "on-task 76%, TTIS +1"
    assert (
        await pilots.get(f"{PILOTS}/{pid}/report", headers=auth("teacher", subject="teacher-a"))
    ).status_code == 403

    await pilots.put("/api/pilots/settings", json={"early_adopters": 7}, headers=auth("edtech"))
    rollout = (await pilots.get(f"{PILOTS}/{pid}/rollout-plan", headers=auth("edtech"))).json()
    assert [(p["year"], p["name"], p["teachers"], p["buy_in_target"]) for p in rollout["phases"]] == [
        (1, "early_adopters", 7, 0.85),
        (2, "grade_level_teams", None, 0.85),
        (3, "full_rollout", None, 0.85),
    ]
    assert len(rollout["phases"][0]["checkpoints"]) == 4
    assert rollout["seed_teachers"] == ["teacher-a", "teacher-b", "teacher-c"]
    assert rollout["current_buy_in"] is None


async def test_coaching_cycle_has_four_dated_steps(
    pilots_app: FastAPI, pilots: httpx.AsyncClient, auth: TokenFactory, district: str
) -> None:
    pid = (await started_pilot(pilots_app, pilots, auth, district))["id"]
    url = f"{PILOTS}/{pid}/coaching-cycles"
    r = await pilots.post(
        url,
        json={"teacher_id": "teacher-a", "start_date": "2026-03-02", "focus": "questioning"},
        headers=auth("specialist"),
    )
    assert r.status_code == 201, r.text
    cycle = r.json()
    assert [(s["step"], s["planned_on"]) for s in cycle["steps"]] == [
        ("goal_setting_conference", "2026-03-02"),
        ("model_lesson", "2026-03-09"),
        ("co_teaching", "2026-03-16"),
        ("reflective_debrief", "2026-03-23"),
    ]
    assert (cycle["weeks"], cycle["end_date"], cycle["completed"]) == (4, "2026-03-29", False)

    r = await pilots.patch(
        f"{url}/{cycle['id']}/steps/model_lesson",
        headers=auth("specialist"),
        json={"held_on": "2026-03-10", "notes": "modelled think-pair-share with the tool"},
    )
    assert r.status_code == 200, r.text
    step = next(s for s in r.json()["steps"] if s["step"] == "model_lesson")
    assert (step["held_on"], step["notes"]) == ("2026-03-10", "modelled think-pair-share with the tool")
    r = await pilots.patch(
        f"{url}/{cycle['id']}/steps/lunch", json={"notes": "x"}, headers=auth("specialist")
    )
    assert (r.status_code, r.json()["errors"][0]["field"]) == (422, "step")

    r = await pilots.post(
        url, json={"teacher_id": "stranger", "start_date": "2026-03-02"}, headers=auth("edtech")
    )
    assert (r.status_code, r.json()["errors"][0]["field"]) == (422, "teacher_id")
    r = await pilots.post(
        url, json={"teacher_id": "teacher-a", "start_date": "2026-03-02"}, headers=auth("teacher")
    )
    assert r.status_code == 403
    mine = await pilots.get(url, headers=auth("teacher", subject="teacher-a"))
    assert [c["teacher_id"] for c in mine.json()["items"]] == ["teacher-a"]
    assert (await pilots.get(url, headers=auth("teacher", subject="teacher-b"))).json()["total"] == 0


async def test_district_settings_change_the_numbers(
    pilots_app: FastAPI, pilots: httpx.AsyncClient, auth: TokenFactory, district: str
) -> None:
    r = await pilots.get("/api/pilots/settings", headers=auth("teacher"))
    assert (r.json()["min_teachers"], r.json()["default_weeks"], r.json()["max_weeks"]) == (3, 4, 6)
    r = await pilots.put("/api/pilots/settings", json={"default_weeks": 8}, headers=auth("edtech"))
    assert (r.status_code, r.json()["errors"][0]["field"]) == (422, "default_weeks")
    r = await pilots.put(
        "/api/pilots/settings",
        json={"max_weeks": 8, "min_teachers": 2, "observations_per_week": 3},
        headers=auth("edtech"),
    )
    assert r.status_code == 200, r.text
    assert sorted(r.json()["overridden"]) == ["max_weeks", "min_teachers", "observations_per_week"]
    assert (
        await pilots.put("/api/pilots/settings", json={"max_weeks": 8}, headers=auth("admin"))
    ).status_code == 403
    r = await pilots.put("/api/pilots/settings", json={"weeks": 8}, headers=auth("edtech"))
    assert (r.status_code, r.json()["errors"][0]["field"]) == (422, "weeks")

    tool_id = await catalog_tool(pilots_app, district)
    r = await pilots.post(
        PILOTS, json=plan(tool_id, weeks=7, teacher_ids=["t1", "t2"], classes=[]), headers=auth("edtech")
    )
    assert r.status_code == 201, r.text
    pid = r.json()["id"]
    await pilots.post(f"{PILOTS}/{pid}/start", headers=auth("edtech"))
    schedule = (await pilots.get(f"{PILOTS}/{pid}/schedule", headers=auth("edtech"))).json()
    assert schedule["total"] == 7 * 3 * 2

    other = await pilots.get("/api/pilots/settings", headers=auth("edtech", district_id="elsewhere"))
    assert other.json()["max_weeks"] == 6
