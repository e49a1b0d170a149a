"""OneRoster CSV import: attributes derived, re-import updates, bad rows reported by line."""

from __future__ import annotations

import httpx
from fastapi import FastAPI
from sqlalchemy import func, select

from services.analytics.models import RosterUser, RosterUserAttribute
from tests.analytics.roster_data import ENROLLMENTS, FILES, ORGS, USERS, upload
from tests.fixtures.auth import TokenFactory


async def attributes(app: FastAPI, district: str) -> set[tuple[str, str, str]]:
    async with app.state.runtime.db.transaction() as session:
        rows = await session.execute(
            select(RosterUserAttribute.user_id, RosterUserAttribute.kind, RosterUserAttribute.value).where(
                RosterUserAttribute.district_id == district
            )
        )
        return {tuple(r) for r in rows.all()}


async def test_import_derives_role_school_grade_and_subjects(
    analytics: httpx.AsyncClient,
    analytics_app: tuple[FastAPI, httpx.AsyncClient],
    auth: TokenFactory,
    district: str,
) -> None:
    r = await upload(analytics, auth("edtech"), zipped=True)
    assert r.status_code == 200, r.text
    job = r.json()
    assert job["result"] == {
        "oneroster_version": "1.1",
        "modes": {name: "delta" for name in FILES},
        "upserted": {"orgs": 3, "academic_sessions": 0, "classes": 2, "users": 6, "enrollments": 6},
        "deleted": {"orgs": 0, "academic_sessions": 0, "classes": 0, "users": 0, "enrollments": 0},
    }
    assert (job["errors"], job["errors_total"], job["error_counts"], job["failure"]) == ([], 0, {}, None)
    rows = {"orgs.csv": 3, "classes.csv": 2, "users.csv": 6, "enrollments.csv": 6}
    assert job["files"] == {name: {"rows": n, "accepted": n, "rejected": 0} for name, n in rows.items()}
    attrs = await attributes(analytics_app[0], district)
    assert {a for a in attrs if a[0] == "s1"} == {
        ("s1", "grade", "05"),
        ("s1", "school", "sch-1"),
        ("s1", "subject", "math"),
    }
    # s4 has no grade of its own: it takes its class's grade
    assert ("s4", "grade", "06") in attrs
    assert {a for a in attrs if a[0] == "t1"} == {
        ("t1", "school", "sch-1"),
        ("t1", "subject", "math"),
        ("t1", "grade", "05"),
    }


async def test_reimport_updates_instead_of_duplicating(
    analytics: httpx.AsyncClient,
    analytics_app: tuple[FastAPI, httpx.AsyncClient],
    auth: TokenFactory,
    district: str,
) -> None:
    await upload(analytics, auth("edtech"))
    changed = USERS.replace(
        "s2,active,2026-01-01,true,sch-1,student,s2,,S,Two,,,,,,,05,",
        "s2,active,2026-02-01,true,sch-1,student,s2,,S,Twofold,,,,,,,04,",
    )
    changed = changed.replace("s4,active", "s4,tobedeleted")
    r = await upload(
        analytics,
        auth("edtech"),
        {
            **FILES,
            "users.csv": changed,
            "enrollments.csv": ENROLLMENTS.replace("e6,active", "e6,tobedeleted"),
        },
    )
    assert r.status_code == 200, r.text
    assert r.json()["result"]["deleted"]["users"] == 1
    async with analytics_app[0].state.runtime.db.transaction() as session:
        count = await session.scalar(
            select(func.count()).select_from(RosterUser).where(RosterUser.district_id == district)
        )
        s2 = await session.get(RosterUser, (district, "s2"))
    assert count == 5
    assert s2 is not None
    assert (s2.family_name, s2.grades) == ("Twofold", ["04"])
    assert ("s2", "grade", "04") in await attributes(analytics_app[0], district)


async def test_bad_rows_are_reported_and_good_rows_kept(
    analytics: httpx.AsyncClient,
    analytics_app: tuple[FastAPI, httpx.AsyncClient],
    auth: TokenFactory,
    district: str,
) -> None:
    users = USERS + (
        "s5,active,2026-01-01,true,sch-1,wizard,s5,,,,,,,,,,05,\n"
        "s6,active,2026-01-01,true,sch-9,student,s6,,,,,,,,,,05,\n"
        "s7,active,2026-01-01,true,sch-1,student,s7,,,,,,,,,,5th,\n"
        ",active,2026-01-01,true,sch-1,student,,,,,,,,,,,05,\n"
    )
    orgs = ORGS + "sch-3,active,2026-01-01,Nowhere,castle,,dist\n"
    enrollments = ENROLLMENTS + "e7,active,2026-01-01,c-art,sch-1,s1,student,false,,\n"
    r = await upload(
        analytics,
        auth("admin"),
        {**FILES, "users.csv": users, "orgs.csv": orgs, "enrollments.csv": enrollments},
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["result"]["upserted"]["users"] == 6
    assert body["result"]["upserted"]["orgs"] == 3
    assert body["errors"] == [
        {"file": "orgs.csv", "line": 5, "field": "type", "message": body["errors"][0]["message"]},
        {"file": "users.csv", "line": 8, "field": "role", "message": body["errors"][1]["message"]},
        {
            "file": "users.csv",
            "line": 9,
            "field": "orgSourcedIds",
            "message": "org 'sch-9' is not in orgs.csv nor in an earlier import",
        },
        {"file": "users.csv", "line": 10, "field": "grades", "message": body["errors"][3]["message"]},
        {"file": "users.csv", "line": 11, "field": "sourcedId", "message": "sourcedId is required"},
        {
            "file": "enrollments.csv",
            "line": 8,
            "field": "classSourcedId",
            "message": "class 'c-art' is not in classes.csv nor known",
        },
    ]
    assert "castle" in body["errors"][0]["message"]
    assert body["errors"][1]["message"].startswith("role 'wizard' is not a OneRoster 1.1 role (administrator")
    assert "5th" in body["errors"][3]["message"]


async def test_oneroster_1_2_roles_file(
    analytics: httpx.AsyncClient,
    analytics_app: tuple[FastAPI, httpx.AsyncClient],
    auth: TokenFactory,
    district: str,
) -> None:
    users = (
        "sourcedId,status,dateLastModified,enabledUser,username,givenName,familyName,grades,primaryOrgSourcedId\n"
        "u1,active,2026-01-01,true,u1,A,B,,sch-1\n"
    )
    roles = (
        "sourcedId,status,dateLastModified,userSourcedId,roleType,role,orgSourcedId\n"
        "r1,active,2026-01-01,u1,primary,teacher,sch-1\n"
    )
    r = await upload(analytics, auth("edtech"), {"orgs.csv": ORGS, "users.csv": users, "roles.csv": roles})
    assert r.status_code == 200, r.text
    assert r.json()["errors"] == []
    async with analytics_app[0].state.runtime.db.transaction() as session:
        u1 = await session.get(RosterUser, (district, "u1"))
    assert u1 is not None
    assert (u1.role, u1.school_id) == ("teacher", "sch-1")


async def test_import_needs_files_and_a_manager(analytics: httpx.AsyncClient, auth: TokenFactory) -> None:
    r = await upload(analytics, auth("teacher"))
    assert r.status_code == 403
    r = await analytics.post(
        "/api/analytics/rosters/import",
        headers=auth("edtech"),
        files=[("file", ("notes.txt", b"hello", "text/plain"))],
    )
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "file"
