"""The monthly report's district-wide TAM buy-in: every tool's answers from the school year's start
through the month, per quarter of the school year against the target (one rule with the per-tool one)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.analytics.dataset import adopt, deliver, tam_answer
from tests.fixtures.auth import TokenFactory

URL = "/api/analytics/reports/monthly"
TOOL_A, TOOL_B = str(uuid.uuid4()), str(uuid.uuid4())
PILOT_A, PILOT_B = uuid.uuid4(), uuid.uuid4()


ANSWERS = (
    (TOOL_A, PILOT_A, "t3", "pre", 0, "2025-05-01"),  # the school year before (it starts in July)
    (TOOL_A, PILOT_A, "t1", "pre", 10, "2025-09-10"),  # 2025-26 Q1
    (TOOL_A, PILOT_A, "t1", "post", 6, "2026-03-05"),  # t1's latest about A
    (TOOL_A, PILOT_A, "t2", "pre", 9, "2026-03-06"),
    (TOOL_B, PILOT_B, "t1", "pre", 8, "2026-03-10"),  # t1 about another tool counts too
    (TOOL_A, PILOT_A, "t4", "pre", 0, "2026-04-02"),  # after March
)


def quarter(
    label: str, start: str, end: str, respondents: int, positive: int, answers: int
) -> dict[str, Any]:
    share = positive / answers
    return {
        "quarter": label,
        "start": start,
        "end": end,
        "respondents": respondents,
        "answers": answers,
        "positive": positive,
        "buy_in": round(share, 4),
        "target": 0.85,
        "meets_target": share >= 0.85,
    }


@pytest.fixture
async def answered(analytics_app: tuple[FastAPI, httpx.AsyncClient], district: str) -> None:
    runtime = analytics_app[0].state.runtime
    await adopt(runtime, TOOL_A, district, on=dt.date(2025, 8, 1), name="Desmos")
    await adopt(runtime, TOOL_B, district, on=dt.date(2025, 8, 1), name="Kami")
    for tool, pilot, teacher, phase, positive, when in ANSWERS:
        await deliver(
            analytics_app[0].state.runtime, tam_answer(tool, pilot, teacher, phase, positive, when), district
        )


async def report(analytics: httpx.AsyncClient, auth: TokenFactory, **params: str) -> dict[str, Any]:
    r = await analytics.get(URL, params=params, headers=auth("admin"))
    assert r.status_code == 200, r.text
    return dict(r.json())


async def test_district_buy_in_per_quarter_of_the_school_year(
    analytics: httpx.AsyncClient, auth: TokenFactory, answered: None
) -> None:
    march = await report(analytics, auth, month="2026-03")
    assert march["buy_in"] == {
        "respondents": 2,
        "answers": 30,
        "positive": 23,  # t1 about A (6), t2 about A (9), t1 about B (8)
        "buy_in": round(23 / 30, 4),
        "target": 0.85,
        "meets_target": False,
        "quarters": [
            quarter("2025-26 Q1", "2025-07-01", "2025-09-30", 1, 10, 10),
            quarter("2025-26 Q3", "2026-01-01", "2026-03-31", 2, 23, 30),
        ],
    }
    # one rule: the per-tool figure of the month is the same computation over tool A's March answers
    tools = {t["tool_id"]: t["tam"] for t in march["teachers"]["tools"]}
    assert tools[TOOL_A]["quarters"] == [quarter("2025-26 Q3", "2026-01-01", "2026-03-31", 2, 15, 20)]

    september = await report(analytics, auth, month="2025-09")
    assert september["buy_in"]["quarters"] == [quarter("2025-26 Q1", "2025-07-01", "2025-09-30", 1, 10, 10)]
    assert september["buy_in"]["meets_target"] is True

    april = await report(analytics, auth, month="2026-04")
    assert [q["quarter"] for q in april["buy_in"]["quarters"]] == ["2025-26 Q1", "2025-26 Q3", "2025-26 Q4"]
    assert april["buy_in"]["quarters"][-1] == quarter("2025-26 Q4", "2026-04-01", "2026-06-30", 1, 0, 10)

    only_b = await report(analytics, auth, month="2026-03", tool_id=TOOL_B)
    assert only_b["buy_in"]["quarters"] == [quarter("2025-26 Q3", "2026-01-01", "2026-03-31", 1, 8, 10)]


async def test_no_answers_no_buy_in(analytics: httpx.AsyncClient, auth: TokenFactory) -> None:
    body = await report(analytics, auth, month="2026-03")
    assert body["buy_in"] == {
        "respondents": 0,
        "answers": 0,
        "positive": 0,
        "buy_in": None,
        "target": None,
        "meets_target": None,
        "quarters": [],
    }


async def test_monthly_report_roles_and_bad_month(analytics: httpx.AsyncClient, auth: TokenFactory) -> None:
    assert (await analytics.get(URL, params={"month": "2026-03"}, headers=auth("teacher"))).status_code == 403
    r = await analytics.get(URL, params={"month": "2026-3"}, headers=auth("admin"))
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "month"
