"""Outcome evidence through the API: results uploaded, dosage from real usage events, the analysis,
its suppression, its district, and the evidence offered to the catalog.

A synthetic district: 30 classes of 20 students in 3 schools; the students of 15 classes use a
tool on 6 days each; the spring score carries a planted effect of 0.35 SD over the fall score.
"""

from __future__ import annotations

import datetime as dt
import io
import uuid
from typing import Any

import httpx
import numpy as np
import orjson
from fastapi import FastAPI
from sqlalchemy import select

from services.analytics.events import outbox
from shared.events import PilotStarted
from tests.analytics.dataset import deliver, ev, send_events, settle
from tests.analytics.roster_data import upload
from tests.fixtures.auth import TokenFactory

CLASSES, PER_CLASS, EFFECT = 30, 20, 0.35
USE_DAYS = ["2026-02-02", "2026-02-03", "2026-02-09", "2026-02-10", "2026-02-16", "2026-02-17"]


def roster() -> dict[str, str]:
    orgs = "sourcedId,status,dateLastModified,name,type,identifier,parentSourcedId\ndist,,,D,district,,\n"
    orgs += "".join(f"sch-{s},,,School {s},school,,dist\n" for s in range(3))
    classes = "sourcedId,status,dateLastModified,title,grades,courseSourcedId,classCode,classType,location,schoolSourcedId,termSourcedIds,subjects\n"  # noqa: E501
    users = "sourcedId,status,dateLastModified,enabledUser,orgSourcedIds,role,username,userIds,givenName,familyName,middleName,identifier,email,sms,phone,agentSourcedIds,grades,password\n"  # noqa: E501
    enrollments = "sourcedId,status,dateLastModified,classSourcedId,schoolSourcedId,userSourcedId,role,primary,beginDate,endDate\n"  # noqa: E501
    for c in range(CLASSES):
        school, grade = f"sch-{c % 3}", "05" if c % 2 else "06"
        classes += f"c{c},,,Math {c},{grade},,,scheduled,,{school},,Math\n"
        for k in range(PER_CLASS):
            s = f"s{c}-{k}"
            users += f"{s},,,true,{school},student,{s},,S,{k},,SIS-{s},{s}@example.org,,,,{grade},\n"
            enrollments += f"e{c}-{k},,,c{c},{school},{s},student,false,,\n"
    return {"orgs.csv": orgs, "classes.csv": classes, "users.csv": users, "enrollments.csv": enrollments}


def scores(rng: np.random.Generator, users: set[int]) -> str:
    """Fall (prior) and spring (outcome) scores on a 200-point scale (SD 10), the effect planted."""
    lines = ["student,assessment,subject,date,score,scale"]
    for c in range(CLASSES):
        class_effect = rng.normal(0, 3)
        for k in range(PER_CLASS):
            fall = rng.normal(200, 10)
            spring = 0.5 * (fall - 200) + 205 + class_effect + EFFECT * 10 * (c in users) + rng.normal(0, 8)
            ident = f"SIS-s{c}-{k}" if k % 2 else f"s{c}-{k}@example.org"  # matched like usage
            lines.append(f"{ident},MAP Math,math,2025-09-15,{fall:.1f},RIT")
            lines.append(f"{ident},MAP Math,math,2026-05-15,{spring:.1f},RIT")
    return "\n".join(lines) + "\n"


async def results(
    client: httpx.AsyncClient, headers: dict[str, str], files: dict[str, str]
) -> httpx.Response:
    parts = [("file", (name, io.BytesIO(text.encode()), "text/csv")) for name, text in files.items()]
    return await client.post("/api/analytics/outcomes/results", files=parts, headers=headers)


async def setup_district(
    client: httpx.AsyncClient, app: FastAPI, auth: TokenFactory, district_id: str
) -> dict[str, Any]:
    headers = auth("edtech", district_id=district_id)
    assert (await upload(client, headers, roster())).status_code == 200
    tool = str(uuid.uuid4())
    r = await client.post(
        "/api/analytics/integrations", headers=headers, json={"name": "LMS", "tool_id": tool}
    )
    integration = r.json()
    users = set(range(0, CLASSES, 2))
    events = [ev(f"s{c}-{k}", "login", d) for c in users for k in range(PER_CLASS) for d in USE_DAYS]
    for start in range(0, len(events), 2000):
        await send_events(client, integration, events[start : start + 2000])
    await settle(app.state.runtime)
    r = await results(client, headers, {"scores.csv": scores(np.random.default_rng(42), users)})
    assert r.status_code == 200, r.text
    return {"tool": tool, "headers": headers, "upload": r.json(), "district_id": district_id}


async def test_a_tool_analysis_recovers_the_planted_effect_and_offers_it_as_evidence(
    analytics: httpx.AsyncClient,
    analytics_app: tuple[FastAPI, httpx.AsyncClient],
    auth: TokenFactory,
    district: str,
) -> None:
    app = analytics_app[0]
    setup = await setup_district(analytics, app, auth, district)
    assert setup["upload"]["stored"] == 2 * CLASSES * PER_CLASS and setup["upload"]["rejected"] == 0
    body = {
        "tool_id": setup["tool"],
        "assessment": "MAP Math",
        "start": "2026-01-05",
        "end": "2026-04-30",
        "dosage": "active_days",
        "min_dosage": 5,
    }
    r = await analytics.post("/api/analytics/outcomes/analyses", json=body, headers=setup["headers"])
    assert r.status_code == 201, r.text
    analysis = r.json()
    assert analysis["finding"] == "positive" and analysis["tier"] == 3
    estimate = analysis["estimate"]
    # the planted effect in SD units of the outcome within groups (sqrt(25 + 9 + 64) ~ 9.9)
    planted_g = EFFECT * 10 / np.sqrt(25 + 9 + 64)
    assert estimate["g_ci_low"] <= planted_g <= estimate["g_ci_high"]
    assert estimate["classes"] == CLASSES and estimate["schools"] == 3
    assert estimate["controls"] == ["prior score", "grade", "school"]
    assert analysis["treated"]["students"] == 300 and analysis["comparison_group"]["students"] == 300
    assert analysis["treated"]["mean_dosage"] == 6.0 and analysis["comparison_group"]["mean_dosage"] == 0.0
    assert analysis["treated"]["attrition"] == 0.0
    assert estimate["baseline"] in ("satisfied", "satisfied with statistical adjustment")

    # the catalog is told: an event in analytics' outbox, with no student-level data
    r = await analytics.post(
        f"/api/analytics/outcomes/analyses/{analysis['id']}/evidence", headers=setup["headers"]
    )
    assert r.status_code == 200 and r.json()["evidence_attached_at"]
    async with app.state.runtime.db.transaction() as session:
        rows = (
            await session.execute(
                select(outbox.table.c.payload).where(
                    outbox.table.c.event_type == "org.edtech.outcome.evidence-attached.v1"
                )
            )
        ).all()
    payloads = [
        p for p in (orjson.loads(row.payload) for row in rows) if p["data"]["analysis_id"] == analysis["id"]
    ]
    assert len(payloads) == 1
    data = payloads[0]["data"]
    assert data["tier"] == 3 and data["link"].endswith(f"/outcomes/analyses/{analysis['id']}")
    assert not any("s0-" in str(v) for v in data.values())  # no student-level data travels


async def test_small_groups_are_suppressed_and_other_districts_never_enter(
    analytics: httpx.AsyncClient,
    analytics_app: tuple[FastAPI, httpx.AsyncClient],
    auth: TokenFactory,
    district: str,
) -> None:
    app = analytics_app[0]
    setup = await setup_district(analytics, app, auth, district)
    other = f"other-{uuid.uuid4().hex[:8]}"
    # another district with the same student ids, and an analysis of the same tool id there
    await setup_district(analytics, app, auth, other)
    body = {"tool_id": setup["tool"], "assessment": "MAP Math", "start": "2026-01-05", "end": "2026-04-30"}
    r = await analytics.post("/api/analytics/outcomes/analyses", json=body, headers=setup["headers"])
    assert r.json()["treated"]["students"] == 300  # not 600
    # a threshold nobody's use reaches: the users' group is empty, nothing is reported
    r = await analytics.post(
        "/api/analytics/outcomes/analyses",
        json={**body, "min_dosage": 7},  # the users used it on 6 days
        headers=setup["headers"],
    )
    assert r.status_code == 201
    analysis = r.json()
    assert analysis["finding"] == "suppressed" and analysis["estimate"] is None
    assert analysis["treated"]["students"] is None and analysis["treated"]["mean_dosage"] is None
    r = await analytics.post(
        f"/api/analytics/outcomes/analyses/{analysis['id']}/evidence", headers=setup["headers"]
    )
    assert r.status_code == 409


async def test_result_uploads_refuse_bad_rows_by_line_and_keep_the_rest(
    analytics: httpx.AsyncClient, auth: TokenFactory
) -> None:
    headers = auth("edtech")
    assert (await upload(analytics, headers, roster())).status_code == 200
    csv = "\n".join(
        [
            "student,assessment,date,score,prior_score",
            "s0-1,MAP Math,2026-05-15,210,201",
            "nobody,MAP Math,2026-05-15,210,",
            "s0-2,MAP Math,15/05/2026,210,",
            "s0-3,MAP Math,2026-05-15,1e999,",
            "s0-4,,2026-05-15,210,",
            "s0-5,MAP Math,2026-05-15,abc,",
        ]
    )
    r = await results(analytics, headers, {"scores.csv": csv + "\n"})
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["stored"] == 1 and out["rejected"] == 5
    assert [(e["line"], e["field"]) for e in out["errors"]] == [
        (4, "date"),
        (5, "score"),
        (6, "assessment"),
        (7, "score"),
        (3, "student"),
    ]
    r = await results(analytics, headers, {"scores.csv": "name,grade\nx,1\n"})
    assert r.status_code == 422 and "student" in r.json()["detail"]


async def test_oneroster_gradebook_results_are_read(analytics: httpx.AsyncClient, auth: TokenFactory) -> None:
    """OneRoster 1.2 CSV binding: results.csv names a line item (lineItems.csv: its title, scale)."""
    headers = auth("edtech")
    assert (await upload(analytics, headers, roster())).status_code == 200
    line_items = (
        "sourcedId,status,dateLastModified,title,description,assignDate,dueDate,classSourcedId,"
        "categorySourcedId,gradingPeriodSourcedId,academicSessionSourcedId,scoreScaleSourcedId,"
        "resultValueMin,resultValueMax,learningObjectiveSet\n"
        "li-1,,,Unit 3 Test,,2026-03-01,2026-03-10,c0,cat,,,,0,100,\n"
    )
    results_csv = (
        "sourcedId,status,dateLastModified,metadata,lineItemSourcedId,studentSourcedId,classSourcedId,"
        "scoreScaleSourcedId,scoreStatus,score,textScore,scoreDate,comment,learningObjectiveSet\n"
        "r-1,,,,li-1,s0-1,c0,,fully graded,87,,2026-03-10,,\n"
        "r-2,,,,li-9,s0-2,c0,,fully graded,70,,2026-03-10,,\n"
    )
    r = await results(analytics, headers, {"results.csv": results_csv, "lineItems.csv": line_items})
    assert r.status_code == 200, r.text
    assert r.json()["stored"] == 1 and r.json()["assessments"] == ["Unit 3 Test"]
    assert r.json()["errors"][0]["field"] == "lineItemSourcedId"


async def test_a_pilots_cohort_is_analysed_and_the_result_joins_its_report(
    analytics: httpx.AsyncClient,
    analytics_app: tuple[FastAPI, httpx.AsyncClient],
    auth: TokenFactory,
    district: str,
) -> None:
    """Intention to treat: the pilot's classes against the other classes of the same grades."""
    app = analytics_app[0]
    setup = await setup_district(analytics, app, auth, district)
    pilot = uuid.uuid4()
    started = PilotStarted(
        tool_id=uuid.UUID(setup["tool"]),
        pilot_id=pilot,
        teacher_ids=["t-1"],
        start_date=dt.date(2026, 1, 5),
        end_date=dt.date(2026, 4, 30),
        classes=[f"c{c}" for c in range(0, CLASSES, 2)],
    )
    await deliver(app.state.runtime, started, district)
    body = {"pilot_id": str(pilot), "assessment": "MAP Math"}
    r = await analytics.post("/api/analytics/outcomes/analyses", json=body, headers=setup["headers"])
    assert r.status_code == 201, r.text
    analysis = r.json()
    assert analysis["window_start"] == "2026-01-05" and analysis["tool_id"] == setup["tool"]
    assert analysis["treated"]["students"] == 300 and analysis["finding"] == "positive"
    r = await analytics.get(f"/api/analytics/pilots/{pilot}/usage", headers=setup["headers"])
    assert r.status_code == 200, r.text
    (outcome,) = r.json()["outcomes"]
    assert outcome["analysis_id"] == analysis["id"] and outcome["tier"] == analysis["tier"]
    # a pilot unknown in this district
    r = await analytics.post(
        "/api/analytics/outcomes/analyses",
        json={**body, "pilot_id": str(uuid.uuid4())},
        headers=setup["headers"],
    )
    assert r.status_code == 404
