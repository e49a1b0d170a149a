"""Each dashboard figure on the crafted data set (tests/analytics/dataset.py), answers by hand."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from shared.events import ErrorLogged, PilotStarted
from tests.analytics.dataset import Dataset, build, deliver, tam_answer
from tests.fixtures.auth import TokenFactory

MARCH = {"from": "2026-03-01", "to": "2026-03-31"}


@pytest.fixture
async def data(
    analytics_app: tuple[FastAPI, httpx.AsyncClient], auth: TokenFactory, district: str
) -> Dataset:
    """The crafted data set in this test's district."""
    app, client = analytics_app
    return await build(client, app.state.runtime, auth, district)


def rows(report: dict[str, Any]) -> list[tuple[Any, ...]]:
    return [(r["period_start"], r["group"], r["logins"], r["active_users"]) for r in report["rows"]]


async def test_login_frequency_by_grade_per_week(
    analytics: httpx.AsyncClient, auth: TokenFactory, data: Dataset
) -> None:
    params = {"from": "2026-03-01", "to": "2026-03-15", "period": "week", "group_by": "grade"}
    r = await analytics.get("/api/analytics/dashboards/logins", params=params, headers=auth("admin"))
    assert r.status_code == 200, r.text
    assert rows(r.json()) == [
        ("2026-03-02", "05", 4, 3),
        ("2026-03-02", "06", 3, 3),
        ("2026-03-02", "unassigned", 1, 1),
        ("2026-03-09", "05", 1, 1),
    ]
    school = await analytics.get(
        "/api/analytics/dashboards/logins",
        params={**params, "school_id": "sch-2"},
        headers=auth("specialist"),
    )
    assert rows(school.json()) == [("2026-03-02", "06", 3, 3)]


async def test_login_frequency_by_subject_per_month(
    analytics: httpx.AsyncClient, auth: TokenFactory, data: Dataset
) -> None:
    params = {**MARCH, "period": "month", "group_by": "subject"}
    r = await analytics.get("/api/analytics/dashboards/logins", params=params, headers=auth("edtech"))
    assert rows(r.json()) == [
        ("2026-03-01", "math", 5, 3),
        ("2026-03-01", "science", 3, 3),
        ("2026-03-01", "unassigned", 1, 1),
    ]
    assert r.json()["rows"][0]["logins_per_user"] == pytest.approx(5 / 3, abs=1e-4)
    only_a = await analytics.get(
        "/api/analytics/dashboards/logins", params={**params, "tool_id": data.tool_a}, headers=auth("edtech")
    )
    assert rows(only_a.json())[1] == ("2026-03-01", "science", 2, 2)


async def test_teacher_sees_only_own_classes(
    analytics: httpx.AsyncClient, auth: TokenFactory, data: Dataset
) -> None:
    params = {"from": "2026-03-01", "to": "2026-03-15", "period": "week", "group_by": "grade"}
    r = await analytics.get(
        "/api/analytics/dashboards/logins", params=params, headers=auth("teacher", subject="t1")
    )
    assert rows(r.json()) == [("2026-03-02", "05", 4, 3), ("2026-03-09", "05", 1, 1)]
    assert (
        await analytics.get("/api/analytics/dashboards/licenses", headers=auth("teacher"))
    ).status_code == 403
    other = await analytics.get(
        "/api/analytics/dashboards/logins", params=params, headers=auth("admin", district_id="elsewhere")
    )
    assert other.json()["rows"] == []


async def test_submission_rates_against_paper_baselines(
    analytics: httpx.AsyncClient, auth: TokenFactory, data: Dataset
) -> None:
    for subject, rate in (("all", 0.5), ("math", 0.8)):
        r = await analytics.put(
            f"/api/analytics/baselines/submission-rate/{subject}", json={"rate": rate}, headers=auth("edtech")
        )
        assert r.status_code == 200, r.text
    r = await analytics.get("/api/analytics/dashboards/submissions", params=MARCH, headers=auth("admin"))
    body = r.json()
    assert body["overall"] == {
        "subject": "all",
        "started": 5,
        "submitted": 3,
        "rate": 0.6,
        "baseline_rate": 0.5,
        "difference": 0.1,
    }
    assert body["by_subject"] == [
        {
            "subject": "math",
            "started": 4,
            "submitted": 3,
            "rate": 0.75,
            "baseline_rate": 0.8,
            "difference": -0.05,
        },
        {
            "subject": "science",
            "started": 1,
            "submitted": 0,
            "rate": 0.0,
            "baseline_rate": 0.5,
            "difference": -0.5,
        },
    ]
    bad = await analytics.put(
        "/api/analytics/baselines/submission-rate/math", json={"rate": 1.5}, headers=auth("edtech")
    )
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "rate"


async def test_feature_heatmap(analytics: httpx.AsyncClient, auth: TokenFactory, data: Dataset) -> None:
    r = await analytics.get(
        "/api/analytics/dashboards/features",
        headers=auth("admin"),
        params={"from": "2026-03-02", "to": "2026-03-15", "tool_id": data.tool_a},
    )
    body = r.json()
    assert body["weeks"] == ["2026-03-02", "2026-03-09"]
    assert body["features"] == [
        {
            "feature": "quiz",
            "total_events": 4,
            "cells": [
                {"week": "2026-03-02", "events": 3, "distinct_users": 2},
                {"week": "2026-03-09", "events": 1, "distinct_users": 1},
            ],
        },
        {
            "feature": "whiteboard",
            "total_events": 1,
            "cells": [
                {"week": "2026-03-02", "events": 0, "distinct_users": 0},
                {"week": "2026-03-09", "events": 1, "distinct_users": 1},
            ],
        },
    ]


async def test_license_utilization_and_dormant_cost(
    analytics: httpx.AsyncClient, auth: TokenFactory, data: Dataset
) -> None:
    r = await analytics.get("/api/analytics/dashboards/licenses", params=MARCH, headers=auth("admin"))
    body = r.json()
    by_tool = {x["tool_id"]: x for x in body["licenses"]}
    a, b = by_tool[data.tool_a], by_tool[data.tool_b]
    assert (
        a["tool_name"],
        a["seats_purchased"],
        a["seats_active"],
        a["dormant_seats"],
        a["utilization"],
        a["total_cost"],
        a["dormant_cost"],
    ) == ("Desmos", 10, 6, 4, 0.6, 200.0, 80.0)
    assert (b["seats_active"], b["dormant_seats"], b["dormant_cost"]) == (1, 4, 40.0)
    assert (body["seats_purchased"], body["seats_active"], body["dormant_seats"], body["dormant_cost"]) == (
        15,
        7,
        8,
        120.0,
    )


PILOT = uuid.uuid4()


async def test_teacher_utilization_adoption_and_buy_in(
    analytics_app: tuple[FastAPI, httpx.AsyncClient], auth: TokenFactory, data: Dataset, district: str
) -> None:
    app, analytics = analytics_app
    for teacher, phase, positive, when in (
        ("t1", "pre", 10, "2026-03-05"),
        ("t2", "pre", 9, "2026-03-06"),
        ("t2", "post", 5, "2026-03-20"),  # t2's latest answer counts
    ):
        message = await deliver(
            app.state.runtime, tam_answer(data.tool_a, PILOT, teacher, phase, positive, when), district
        )
    await app.state.runtime.consumer.handle_message(message)  # redelivered: once
    r = await analytics.get("/api/analytics/dashboards/teachers", params=MARCH, headers=auth("admin"))
    tools = {t["tool_id"]: t for t in r.json()["tools"]}
    a, b = tools[data.tool_a], tools[data.tool_b]
    assert (
        a["teachers"],
        a["teachers_basis"],
        a["active_teachers"],
        a["utilization"],
        a["under_threshold"],
        a["adopted_teachers"],
        a["adoption_rate"],
    ) == (2, "rostered", 1, 0.5, False, 2, 1.0)
    assert a["tam"] == {
        "respondents": 2,
        "answers": 20,
        "positive": 15,
        "buy_in": 0.75,
        "target": 0.85,
        "meets_target": False,
        "quarters": [
            {
                "quarter": "2025-26 Q3",
                "start": "2026-01-01",
                "end": "2026-03-31",
                "respondents": 2,
                "answers": 20,
                "positive": 15,
                "buy_in": 0.75,
                "target": 0.85,
                "meets_target": False,
            }
        ],
    }
    assert (
        b["teachers"],
        b["teachers_basis"],
        b["active_teachers"],
        b["utilization"],
        b["under_threshold"],
    ) == (4, "licensed", 1, 0.25, True)
    assert b["tam"]["buy_in"] is None


async def test_errors_are_counted_once_per_event(
    analytics_app: tuple[FastAPI, httpx.AsyncClient], auth: TokenFactory, district: str, data: Dataset
) -> None:
    app, client = analytics_app
    tool = uuid.UUID(data.tool_a)
    for when, severity in (
        ("2026-03-03T09:00:00Z", "high"),
        ("2026-03-03T10:00:00Z", "high"),
        ("2026-03-10T09:00:00Z", "low"),
    ):
        message = await deliver(
            app.state.runtime,
            ErrorLogged(
                tool_id=tool,
                error_id=uuid.uuid4(),
                occurred_at=dt.datetime.fromisoformat(when),
                severity=severity,
                description="crash",
            ),
            district,
        )
    await app.state.runtime.consumer.handle_message(message)  # redelivered: no second count
    r = await client.get("/api/analytics/dashboards/errors", params=MARCH, headers=auth("specialist"))
    assert [(x["tool_name"], x["week"], x["severity"], x["errors"]) for x in r.json()] == [
        ("Desmos", "2026-03-02", "high", 2),
        ("Desmos", "2026-03-09", "low", 1),
    ]


async def test_pilot_usage_of_the_cohort(
    analytics_app: tuple[FastAPI, httpx.AsyncClient], auth: TokenFactory, district: str, data: Dataset
) -> None:
    app, client = analytics_app
    pilot = uuid.uuid4()
    started = PilotStarted(
        tool_id=uuid.UUID(data.tool_a),
        pilot_id=pilot,
        teacher_ids=["t1", "t2"],
        start_date=dt.date(2026, 3, 1),
        end_date=dt.date(2026, 3, 7),
    )
    message = await deliver(app.state.runtime, started, district)
    await app.state.runtime.consumer.handle_message(message)
    r = await client.get(f"/api/analytics/pilots/{pilot}/usage", headers=auth("edtech"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["teachers"] == [
        {
            "teacher_id": "t1",
            "events": 2,
            "logins": 1,
            "submissions": 0,
            "feature_uses": 0,
            "minutes": 10.0,
            "active_days": 1,
        },
        {
            "teacher_id": "t2",
            "events": 0,
            "logins": 0,
            "submissions": 0,
            "feature_uses": 0,
            "minutes": 0.0,
            "active_days": 0,
        },
    ]
    assert (body["active_teachers"], body["total_events"]) == (1, 2)
    assert (
        await client.get(f"/api/analytics/pilots/{pilot}/usage", headers=auth("teacher", subject="t1"))
    ).status_code == 200
    assert (
        await client.get(f"/api/analytics/pilots/{pilot}/usage", headers=auth("teacher", subject="t9"))
    ).status_code == 404
    assert (
        await client.get(
            f"/api/analytics/pilots/{pilot}/usage", headers=auth("edtech", district_id="elsewhere")
        )
    ).status_code == 404


async def test_monthly_report_combines_the_figures(
    analytics: httpx.AsyncClient, auth: TokenFactory, data: Dataset
) -> None:
    r = await analytics.get(
        "/api/analytics/reports/monthly", params={"month": "2026-03"}, headers=auth("admin")
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["start"], body["end"]) == ("2026-03-01", "2026-03-31")
    assert rows(body["logins_by_subject"]) == [
        ("2026-03-01", "math", 5, 3),
        ("2026-03-01", "science", 3, 3),
        ("2026-03-01", "unassigned", 1, 1),
    ]
    assert [(x["group"], x["logins"]) for x in body["logins_by_grade"]["rows"]] == [
        ("05", 5),
        ("06", 3),
        ("unassigned", 1),
    ]
    assert body["submissions"]["overall"]["rate"] == 0.6
    assert body["licenses"]["dormant_cost"] == 120.0
    assert len(body["teachers"]["tools"]) == 2
    assert {f["feature"] for f in body["features"]["features"]} == {"quiz", "whiteboard"}
    bad = await analytics.get(
        "/api/analytics/reports/monthly", params={"month": "2026-13"}, headers=auth("admin")
    )
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "month"
    swapped = await analytics.get(
        "/api/analytics/dashboards/logins",
        params={"from": "2026-03-05", "to": "2026-03-01"},
        headers=auth("admin"),
    )
    assert swapped.status_code == 422
