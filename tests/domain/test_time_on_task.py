"""Negative impact on instructional time triggers immediate review (DOMAIN.md §1): observed time-on-task
falling in a pilot class (a teacher's week at least 10 points under their first observed week, by
default) flags the tool for review in the catalog, with the evidence."""

from __future__ import annotations

from typing import Any

from tests.domain.helpers import CATALOG, PILOTS, approved_tool, ok, pilot_plan
from tests.fixtures.auth import TokenFactory
from tests.fixtures.platform import Platform


def observation(teacher: str, day: str, on_task: list[int], present: int = 25) -> dict[str, Any]:
    """An observation sampling time-on-task every interval: `on_task` students of `present`."""
    return {
        "teacher_id": teacher,
        "observed_on": day,
        "intervals": [{"on_task": n, "present": present} for n in on_task],
    }


async def test_falling_time_on_task_flags_the_tool_for_review_with_the_evidence(
    platform: Platform, auth: TokenFactory
) -> None:
    edtech, specialist = auth("edtech"), auth("specialist")
    tool = await approved_tool(platform.catalog, auth)
    await platform.settle()
    pilot = await ok(
        await platform.pilots.post(f"{PILOTS}/pilots", json=pilot_plan(tool["id"]), headers=edtech), 201
    )
    await ok(await platform.pilots.post(f"{PILOTS}/pilots/{pilot['id']}/start", headers=edtech))
    url = f"{PILOTS}/pilots/{pilot['id']}/observations"

    async def observe(body: dict[str, Any]) -> dict[str, Any]:
        return dict(await ok(await platform.pilots.post(url, json=body, headers=specialist), 201))

    # teacher-a, week 1 (the baseline): 45 of 50 samples on task = 90%
    await observe(observation("teacher-a", "2026-03-03", [22]))
    await observe(observation("teacher-a", "2026-03-05", [23]))
    await observe(observation("teacher-b", "2026-03-03", [20, 20]))
    # week 2: 84%, 6 points down: within the margin; teacher-b steady
    await observe(observation("teacher-a", "2026-03-10", [21]))
    await observe(observation("teacher-b", "2026-03-10", [20, 19]))
    await platform.settle()
    flags = await ok(await platform.catalog.get(f"{CATALOG}/tools/{tool['id']}/flags", headers=edtech))
    assert flags["total"] == 0

    # week 3: 72%, 18 points under the baseline: flagged at once, and only once for the week
    fell = await observe(observation("teacher-a", "2026-03-17", [18]))
    await observe(observation("teacher-a", "2026-03-19", [17]))
    await platform.settle()
    flags = (await ok(await platform.catalog.get(f"{CATALOG}/tools/{tool['id']}/flags", headers=edtech)))[
        "items"
    ]
    assert [(f["kind"], f["source"]) for f in flags] == [("review", "time_on_task_fell")]
    evidence = flags[0]["data"]
    assert evidence["pilot_id"] == pilot["id"] and evidence["teacher_id"] == "teacher-a"
    assert evidence["baseline"] == {
        "week": 1,
        "observations": 2,
        "on_task": 45,
        "present": 50,
        "time_on_task": 0.9,
    }
    assert (evidence["observed"]["week"], evidence["observed"]["time_on_task"]) == (3, 0.72)
    assert (evidence["drop"], evidence["threshold"]) == (0.18, 0.1)
    assert evidence["observation_ids"] == [fell["id"]]
    assert "fell from 90% (week 1) to 72% (week 3)" in flags[0]["note"]
    assert "immediate review" in flags[0]["note"]
