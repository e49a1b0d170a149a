"""TAM is one instrument and one scale (DOMAIN.md §2: "success needs 85% staff buy-in measured quarterly
(TAM)"): the pilot teachers' answers feed the buy-in figure, and the pilot report and the teacher
dashboard give the same figure for the same three teachers, per quarter against 85%."""

from __future__ import annotations

import datetime as dt

from tests.domain.helpers import ANALYTICS, PILOTS, approved_tool, ok, pilot_plan
from tests.fixtures.auth import TokenFactory
from tests.fixtures.platform import Platform

TEACHERS = ("teacher-a", "teacher-b", "teacher-c")
POSITIVE_ANSWERS = {"teacher-a": 10, "teacher-b": 8, "teacher-c": 6}  # of 10 items: 24 of 30 = 80%


async def test_pilot_answers_feed_one_buy_in_figure_per_quarter(
    platform: Platform, auth: TokenFactory
) -> None:
    edtech = auth("edtech")
    platform.travel_to(dt.date(2026, 3, 20))
    tool = await approved_tool(platform.catalog, auth)
    await platform.settle()
    pilot = await ok(
        await platform.pilots.post(f"{PILOTS}/pilots", json=pilot_plan(tool["id"]), headers=edtech), 201
    )
    await ok(await platform.pilots.post(f"{PILOTS}/pilots/{pilot['id']}/start", headers=edtech))
    instrument = await ok(await platform.pilots.get(f"{PILOTS}/instruments/TAM", headers=edtech))
    codes = [item["code"] for item in instrument["items"]]
    assert (instrument["scale_min"], instrument["scale_max"], len(codes)) == (1, 5, 10)
    for teacher in TEACHERS:
        positive = POSITIVE_ANSWERS[teacher]
        answers = {code: 5 if i < positive else 2 for i, code in enumerate(codes)}
        await ok(
            await platform.pilots.post(
                f"{PILOTS}/pilots/{pilot['id']}/surveys/TAM/responses",
                json={"phase": "post", "answers": answers},
                headers=auth("teacher", subject=teacher),
            ),
            201,
        )
    await platform.settle()

    report = await ok(await platform.pilots.get(f"{PILOTS}/pilots/{pilot['id']}/report", headers=edtech))
    [post] = [t for t in report["tam"] if t["phase"] == "post"]
    assert (post["respondents"], post["overall"]["share_positive"], post["buy_in_target"]) == (3, 0.8, 0.85)

    dashboard = await ok(
        await platform.analytics.get(
            f"{ANALYTICS}/dashboards/teachers",
            params={"from": "2026-03-01", "to": "2026-03-31", "tool_id": tool["id"]},
            headers=auth("admin"),
        )
    )
    [row] = dashboard["tools"]
    tam = row["tam"]
    assert (tam["respondents"], tam["answers"], tam["positive"], tam["buy_in"]) == (3, 30, 24, 0.8)
    assert [(q["quarter"], q["buy_in"], q["target"], q["meets_target"]) for q in tam["quarters"]] == [
        ("2025-26 Q3", 0.8, 0.85, False)
    ]
