"""OneRoster manifest.csv (bulk / delta / absent), the 1.1 and 1.2 role vocabularies, userIds,
academic sessions as the district's terms, and exports shaped as ClassLink and Clever send them.

Sources: OneRoster 1.2 CSV Binding (https://www.imsglobal.org/spec/oneroster/v1p2/bind/csv, copy at
https://imsjapan.github.io/or12.html): sections 2.1 (manifest must list the files supplied), 3.0
(bulk: records not in the file are to be marked tobedeleted; status and dateLastModified blank;
BOM tolerated), 3.1 (manifest), roles.csv, users.csv (`userIds` as `{LDAP:Id},{LTI:Id}`),
academicSessions.csv (`endDate` exclusive). OneRoster 1.1 CSV Tables
(https://www.imsglobal.org/oneroster-v11-final-csv-tables) for the 1.1 headers and roles.
"""

# ruff: noqa: E501
from __future__ import annotations

import asyncio
import datetime as dt
import io
import uuid
import zipfile
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from services.analytics.config import Settings
from services.analytics.district.service import effective_settings
from services.analytics.models import (
    Base,
    RosterAcademicSession,
    RosterClassTerm,
    RosterEnrollment,
    RosterUser,
)
from services.analytics.rosters.service import import_files
from services.analytics.rosters.terms import last_completed_term, term_containing
from shared.db import Database
from tests.analytics.roster_data import CLASSES, FILES, ORGS, USERS, finished, manifest, upload
from tests.fixtures.auth import TokenFactory

URL = "/api/analytics/rosters/import"


async def stored(app: FastAPI, district: str) -> tuple[set[str], set[str]]:
    """The district's user and enrollment sourcedIds."""
    async with app.state.runtime.db.transaction() as session:
        users = await session.scalars(select(RosterUser.sourced_id).where(RosterUser.district_id == district))
        enrollments = await session.scalars(
            select(RosterEnrollment.sourced_id).where(RosterEnrollment.district_id == district)
        )
        return set(users.all()), set(enrollments.all())


def without(text: str, *prefixes: str) -> str:
    """The CSV without the rows whose sourcedId is one of these."""
    return "".join(
        line + "\n" for line in text.splitlines() if not any(line.startswith(p + ",") for p in prefixes)
    )


def blank_status(text: str) -> str:
    """A bulk file: status and dateLastModified (columns 2 and 3) left empty, as bulk requires."""
    lines = text.splitlines()
    out = [lines[0]]
    for line in lines[1:]:
        first, _status, _modified, rest = line.split(",", 3)
        out.append(f"{first},,,{rest}")
    return "\n".join(out) + "\n"


async def test_bulk_removes_unlisted_users_and_their_enrollments_absent_files_untouched(
    analytics: httpx.AsyncClient,
    analytics_app: tuple[FastAPI, httpx.AsyncClient],
    auth: TokenFactory,
    district: str,
) -> None:
    assert (await upload(analytics, auth("edtech"))).status_code == 200
    users = blank_status(without(USERS, "s4"))
    r = await upload(
        analytics, auth("edtech"), {"manifest.csv": manifest(users="bulk"), "users.csv": users}, zipped=True
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["result"]["modes"] == {"users.csv": "bulk"}
    assert body["result"]["deleted"] == {
        "orgs": 0,
        "academic_sessions": 0,
        "classes": 0,
        "users": 1,
        "enrollments": 1,
    }
    assert body["errors"] == []
    assert await stored(analytics_app[0], district) == (
        {"t1", "t2", "s1", "s2", "s3"},
        {"e1", "e2", "e3", "e4", "e5"},  # e6 was s4's
    )


async def test_delta_keeps_what_it_does_not_list(
    analytics: httpx.AsyncClient,
    analytics_app: tuple[FastAPI, httpx.AsyncClient],
    auth: TokenFactory,
    district: str,
) -> None:
    await upload(analytics, auth("edtech"))
    users = without(USERS, "s4").replace("s3,active", "s3,tobedeleted")
    r = await upload(analytics, auth("edtech"), {"manifest.csv": manifest(users="delta"), "users.csv": users})
    assert r.status_code == 200, r.text
    assert r.json()["result"]["deleted"]["users"] == 1
    assert r.json()["result"]["deleted"]["enrollments"] == 1  # e5, s3's
    assert await stored(analytics_app[0], district) == (
        {"t1", "t2", "s1", "s2", "s4"},
        {"e1", "e2", "e3", "e4", "e6"},
    )


async def test_manifest_and_files_must_agree(analytics: httpx.AsyncClient, auth: TokenFactory) -> None:
    cases = [
        ({"manifest.csv": manifest(users="bulk", orgs="bulk"), "users.csv": USERS}, "orgs.csv"),
        ({"manifest.csv": manifest(users="bulk"), "users.csv": USERS, "orgs.csv": ORGS}, "orgs.csv"),
        ({"manifest.csv": manifest("1.1", users="sometimes"), "users.csv": USERS}, "manifest.csv"),
        ({"manifest.csv": "propertyName,value\nfile.users,bulk\n", "users.csv": USERS}, "manifest.csv"),
        # roles.csv is not a 1.1 file: a 1.1 manifest cannot declare it
        (
            {"manifest.csv": manifest(users="bulk"), "users.csv": USERS, "roles.csv": "sourcedId\n"},
            "roles.csv",
        ),
    ]
    for files, culprit in cases:
        r = await upload(analytics, auth("edtech"), files)
        assert r.status_code == 422, (files, r.text)
        problem = r.json()
        assert problem["errors"][0]["field"] == culprit, problem
        assert culprit in problem["detail"], problem


async def test_a_listed_but_rejected_row_keeps_its_record_and_an_all_failing_bulk_file_removes_nothing(
    analytics: httpx.AsyncClient,
    analytics_app: tuple[FastAPI, httpx.AsyncClient],
    auth: TokenFactory,
    district: str,
) -> None:
    await upload(analytics, auth("edtech"))
    # s2 is listed with a bad grade: rejected, but listed, so its stored record stays; s4 is gone
    users = blank_status(without(USERS, "s4")).replace(
        "s2,,,true,sch-1,student,s2,,S,Two,,,,,,,05,", "s2,,,true,sch-1,student,s2,,S,Two,,,,,,,5th,"
    )
    r = await upload(analytics, auth("edtech"), {"manifest.csv": manifest(users="bulk"), "users.csv": users})
    assert r.status_code == 200, r.text
    assert [(e["line"], e["field"]) for e in r.json()["errors"]] == [(5, "grades")]
    assert (await stored(analytics_app[0], district))[0] == {"t1", "t2", "s1", "s2", "s3"}
    async with analytics_app[0].state.runtime.db.transaction() as session:
        s2 = await session.get(RosterUser, (district, "s2"))
    assert s2 is not None and s2.grades == ["05"]
    # every row rejected (a renamed role column): nothing removed, and the report says why
    broken = "sourcedId,status,dateLastModified,enabledUser,orgSourcedIds,kind,username\nx1,,,true,sch-1,student,x1\n"
    r = await upload(analytics, auth("edtech"), {"manifest.csv": manifest(users="bulk"), "users.csv": broken})
    assert r.status_code == 200, r.text
    assert r.json()["result"]["deleted"]["users"] == 0
    assert [(e["file"], e["field"]) for e in r.json()["errors"]] == [
        ("users.csv", "role"),
        ("users.csv", "file"),
    ]
    assert "removes nothing" in r.json()["errors"][1]["message"]
    assert (await stored(analytics_app[0], district))[0] == {"t1", "t2", "s1", "s2", "s3"}


USERS_1_2 = """sourcedId,status,dateLastModified,enabledUser,username,userIds,givenName,familyName,middleName,identifier,email,sms,phone,agentSourcedIds,grades,password,userMasterIdentifier,resourceSourcedIds,preferredGivenName,preferredMiddleName,preferredFamilyName,primaryOrgSourcedId,pronouns
u1,,,true,cora,"{LDAP:cora},{Canvas:1234}",Cora,Counsel,,SIS-001,cora@example.org,,,,,,,,,,,sch-1,
u2,,,true,sam,{Moodle:42},Sam,Admin,,SIS-002,,,,,,,,,,,,dist,
u3,,,true,dina,,Dina,District,,SIS-003,,,,,,,,,,,,dist,
u4,,,true,pat,,Pat,Principal,,,,,,,,,,,,,,sch-1,
u5,,,true,lib,,Lee,Librarian,,,,,,,,,,,,,,sch-1,
u6,,,true,old,,Old,Spelling,,,,,,,,,,,,,,dist,
u7,,,true,odd,,Odd,Type,,,,,,,,,,,,,,sch-1,
u8,,,true,bad,{Canvas},Bad,Ids,,,,,,,,,,,,,,sch-1,
"""
ROLES_1_2 = """sourcedId,status,dateLastModified,userSourcedId,roleType,role,beginDate,endDate,orgSourcedId,userProfileSourcedId
r1,,,u1,primary,counselor,,,sch-1,
r2,,,u2,primary,systemAdministrator,,,dist,
r3,,,u3,primary,districtAdministrator,,,dist,
r4,,,u4,primary,principal,,,sch-1,
r4b,,,u4,secondary,teacher,,,sch-2,
r5,,,u5,primary,ext:librarian,,,sch-1,
r6,,,u6,primary,sysAdministrator,,,dist,
r7,,,u7,tertiary,teacher,,,sch-1,
r8,,,u8,primary,teacher,,,sch-1,
"""


async def test_oneroster_1_2_roles_as_the_specification_lists_them(
    analytics: httpx.AsyncClient,
    analytics_app: tuple[FastAPI, httpx.AsyncClient],
    auth: TokenFactory,
    district: str,
) -> None:
    """roles.csv `role` and `roleType` per the 1.2 CSV Binding; `ext:` terms extend `role` (4.1.2)."""
    files = {
        "manifest.csv": manifest("1.2", orgs="bulk", users="bulk", roles="bulk"),
        "orgs.csv": blank_status(ORGS),
        "users.csv": USERS_1_2,
        "roles.csv": ROLES_1_2,
    }
    r = await upload(analytics, auth("edtech"), files)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["result"]["oneroster_version"] == "1.2"
    errors = [(e["file"], e["line"], e["field"]) for e in body["errors"]]
    assert errors == [
        ("roles.csv", 8, "role"),  # sysAdministrator: the 1.2 term is systemAdministrator
        ("roles.csv", 9, "roleType"),
        ("users.csv", 7, "role"),  # u6: no valid role
        ("users.csv", 8, "role"),  # u7
        ("users.csv", 9, "userIds"),  # {Canvas} has no id
    ]
    assert "systemAdministrator" in body["errors"][0]["message"]
    async with analytics_app[0].state.runtime.db.transaction() as session:
        rows = (await session.scalars(select(RosterUser).where(RosterUser.district_id == district))).all()
    got = {u.sourced_id: (u.role, u.school_id, u.identifier, u.username, u.user_ids) for u in rows}
    assert got == {
        "u1": ("counselor", "sch-1", "SIS-001", "cora", ["LDAP:cora", "Canvas:1234"]),
        "u2": ("systemAdministrator", "dist", "SIS-002", "sam", ["Moodle:42"]),
        "u3": ("districtAdministrator", "dist", "SIS-003", "dina", []),
        "u4": ("principal", "sch-1", None, "pat", []),  # the primary role wins over the secondary
        "u5": ("ext:librarian", "sch-1", None, "lib", []),
    }


async def test_1_1_roles_refuse_1_2_terms(analytics: httpx.AsyncClient, auth: TokenFactory) -> None:
    users = USERS + "c1,active,2026-01-01,true,sch-1,counselor,c1,,C,One,,,,,,,,\n"
    r = await upload(analytics, auth("edtech"), {**FILES, "users.csv": users})
    assert [(e["line"], e["field"]) for e in r.json()["errors"]] == [(8, "role")]
    assert "1.1" in r.json()["errors"][0]["message"]


def sessions_csv(today: dt.date) -> str:
    """A school year, the semester and the (shorter) term covering `today`; endDate exclusive."""
    d = lambda n: (today + dt.timedelta(days=n)).isoformat()  # noqa: E731
    return (
        "sourcedId,status,dateLastModified,title,type,startDate,endDate,parentSourcedId,schoolYear\n"
        f"y1,,,School year,schoolYear,{d(-100)},{d(200)},,{today.year + 1}\n"
        f"sem1,,,Fall,semester,{d(-40)},{d(50)},y1,{today.year + 1}\n"
        f"q2,,,Quarter 2,term,{d(-5)},{d(20)},sem1,{today.year + 1}\n"
        f"q1,,,Quarter 1,term,{d(-40)},{d(-5)},sem1,{today.year + 1}\n"
        f"gp,,,Week,gradingPeriod,{d(-1)},{d(2)},q2,{today.year + 1}\n"
        f"bad,,,Bad,term,{d(5)},{d(1)},,{today.year + 1}\n"
    )


CLASSES_IN_TERMS = CLASSES.replace(",t1,Math", ",q2,Math").replace(",t1,Science", ",q1,Science")
"""The data set's classes, taught in the terms of `sessions_csv`."""


async def test_academic_sessions_make_the_teacher_utilization_term(
    analytics: httpx.AsyncClient,
    analytics_app: tuple[FastAPI, httpx.AsyncClient],
    auth: TokenFactory,
    district: str,
) -> None:
    today = dt.datetime.now(dt.UTC).date()
    r = await analytics.get("/api/analytics/dashboards/teachers", headers=auth("admin"))
    anchored = (r.json()["start"], r.json()["end"])
    files = {
        **FILES,
        "academicSessions.csv": sessions_csv(today),
        "classes.csv": CLASSES_IN_TERMS
        + 'c-art,active,2026-01-01,Art 5,05,crs-3,A5,scheduled,,sch-1,"q1,q9",Art\n',  # q9 is no session
    }
    r = await upload(analytics, auth("edtech"), files)
    assert r.status_code == 200, r.text
    assert [(e["file"], e["line"], e["field"]) for e in r.json()["errors"]] == [
        ("academicSessions.csv", 7, "endDate"),
        ("classes.csv", 4, "termSourcedIds"),
    ]
    assert r.json()["result"]["upserted"]["academic_sessions"] == 5
    async with analytics_app[0].state.runtime.db.transaction() as session:
        links = (
            await session.execute(
                select(RosterClassTerm.class_id, RosterClassTerm.term_id).where(
                    RosterClassTerm.district_id == district
                )
            )
        ).all()
        q2 = await session.get(RosterAcademicSession, (district, "q2"))
    assert {tuple(x) for x in links} == {("c-math", "q2"), ("c-sci", "q1")}
    assert q2 is not None and (q2.type, q2.parent_id, q2.school_year) == ("term", "sem1", today.year + 1)
    # the current term is the shortest covering term/semester: q2 (its endDate is exclusive)
    r = await analytics.get("/api/analytics/dashboards/teachers", headers=auth("admin"))
    assert r.status_code == 200, r.text
    expected = (today - dt.timedelta(days=5), today + dt.timedelta(days=19))
    assert (r.json()["start"], r.json()["end"]) == tuple(d.isoformat() for d in expected) != anchored
    # the signals judge the last term that ended: q1
    r = await analytics.post("/api/analytics/signals/evaluate", headers=auth("edtech"))
    assert (r.json()["window_start"], r.json()["window_end"]) == (
        (today - dt.timedelta(days=40)).isoformat(),
        (today - dt.timedelta(days=6)).isoformat(),
    )


async def test_the_term_rule_and_its_fallback(
    analytics_app: tuple[FastAPI, httpx.AsyncClient], district: str
) -> None:
    """Shortest covering session, `term` before an equally long `semester`; else the anchored window."""
    app = analytics_app[0]
    day = dt.date(2027, 3, 10)
    sessions = (
        "sourcedId,status,dateLastModified,title,type,startDate,endDate,parentSourcedId,schoolYear\n"
        "s,,,Spring,semester,2027-01-10,2027-06-01,,2027\n"
        "t,,,Spring term,term,2027-01-10,2027-06-01,,2027\n"
        "g,,,Grading,gradingPeriod,2027-03-01,2027-03-20,,2027\n"
    )
    await import_files(
        app.state.runtime.db, district_id=district, files={"academicSessions.csv": sessions.encode()}
    )
    async with app.state.runtime.db.transaction() as session:
        defaults = Settings(database_url="sqlite+aiosqlite://")
        district_settings = await effective_settings(session, district_id=district, defaults=defaults)
        term = await term_containing(session, district_id=district, settings=district_settings, day=day)
        assert (term.session_id, term.start, term.end) == ("t", dt.date(2027, 1, 10), dt.date(2027, 5, 31))
        summer = await term_containing(
            session, district_id=district, settings=district_settings, day=dt.date(2027, 7, 1)
        )
        assert summer.session_id is None
        assert summer.start <= dt.date(2027, 7, 1) <= summer.end
        assert (summer.end - summer.start).days + 1 == district_settings.evaluation_window_days
        done = await last_completed_term(
            session, district_id=district, settings=district_settings, as_of=dt.date(2027, 6, 1)
        )
        assert done is not None and done.session_id == "t"


def zipped(files: dict[str, str], *, folder: str = "") -> bytes:
    """The files in one zip, UTF-8 with a byte order mark (both bindings: importers must tolerate it)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in files.items():
            archive.writestr(folder + name, "\ufeff" + text.replace("\n", "\r\n"))
    return buffer.getvalue()


CLASSLINK_1_1 = {
    "manifest.csv": manifest(
        "1.1",
        source="ClassLink",
        academicSessions="bulk",
        classes="bulk",
        courses="bulk",
        demographics="bulk",
        enrollments="bulk",
        orgs="bulk",
        users="bulk",
    ),
    "academicSessions.csv": """sourcedId,status,dateLastModified,title,type,startDate,endDate,parentSourcedId,schoolYear
2027,,,2026-2027,schoolYear,2026-08-10,2027-06-04,,2027
2027-S1,,,Semester 1,semester,2026-08-10,2027-01-15,2027,2027
""",
    "orgs.csv": """sourcedId,status,dateLastModified,name,type,identifier,parentSourcedId
100,,,Springfield USD,district,0612345,
101,,,Springfield High,school,061234500001,100
""",
    "courses.csv": """sourcedId,status,dateLastModified,schoolYearSourcedId,title,courseCode,grades,orgSourcedId,subjects,subjectCodes
C-ALG1,,,2027,Algebra 1,ALG1,09,101,Math,
""",
    "classes.csv": """sourcedId,status,dateLastModified,title,grades,courseSourcedId,classCode,classType,location,schoolSourcedId,termSourcedIds,subjects,subjectCodes,periods
101-ALG1-1,,,Algebra 1 - P1,09,C-ALG1,ALG1-1,scheduled,Room 12,101,2027-S1,Math,,1
""",
    "users.csv": """sourcedId,status,dateLastModified,enabledUser,orgSourcedIds,role,username,userIds,givenName,familyName,middleName,identifier,email,sms,phone,agentSourcedIds,grades,password
T-9001,,,true,101,teacher,jdoe@springfield.k12.us,{ClassLink:8812345},Jane,Doe,,9001,jdoe@springfield.k12.us,,,,,
S-5001,,,true,101,student,s5001@springfield.k12.us,{ClassLink:8812346},Sam,Smith,,5001,,,,,09,
A-7001,,,true,"100,101",administrator,admin@springfield.k12.us,,Ann,Admin,,7001,,,,,,
""",
    "enrollments.csv": """sourcedId,status,dateLastModified,classSourcedId,schoolSourcedId,userSourcedId,role,primary,beginDate,endDate
101-ALG1-1-T-9001,,,101-ALG1-1,101,T-9001,teacher,true,,
101-ALG1-1-S-5001,,,101-ALG1-1,101,S-5001,student,false,,
""",
    "demographics.csv": """sourcedId,status,dateLastModified,birthDate,sex,americanIndianOrAlaskaNative,asian,blackOrAfricanAmerican,nativeHawaiianOrOtherPacificIslander,white,demographicRaceTwoOrMoreRaces,hispanicOrLatinoEthnicity,countryOfBirthCode,stateOfBirthAbbreviation,cityOfBirth,publicSchoolResidenceStatus
S-5001,,,2012-05-01,male,false,false,false,false,true,false,false,US,CA,Springfield,
""",
}
"""ClassLink Roster Server's OneRoster 1.1 CSV set: manifest.csv, academicSessions, orgs, courses,
classes, users, enrollments (+ demographics), every column present even when empty
(https://support.classlink.com/hc/en-us/articles/115002517753-OneRoster-1-1-CSVs), sent to a
vendor over SFTP (https://support.classlink.com/hc/en-us/articles/115002523654); bulk rows carry no
status nor dateLastModified (1.1 CSV Tables 2.1)."""


async def test_a_classlink_oneroster_1_1_export_imports(
    analytics: httpx.AsyncClient,
    analytics_app: tuple[FastAPI, httpx.AsyncClient],
    auth: TokenFactory,
    district: str,
) -> None:
    parts = [("file", ("OneRoster.zip", zipped(CLASSLINK_1_1), "application/zip"))]
    r = await finished(
        analytics, auth("edtech"), await analytics.post(URL, files=parts, headers=auth("edtech"))
    )
    body = r.json()
    assert body["state"] == "succeeded", body
    assert body["errors"] == []
    assert body["result"]["oneroster_version"] == "1.1"
    assert body["result"]["upserted"] == {
        "orgs": 2,
        "academic_sessions": 2,
        "classes": 1,
        "users": 3,
        "enrollments": 2,
    }
    async with analytics_app[0].state.runtime.db.transaction() as session:
        teacher = await session.get(RosterUser, (district, "T-9001"))
    assert teacher is not None
    assert (teacher.role, teacher.identifier, teacher.user_ids) == ("teacher", "9001", ["ClassLink:8812345"])
    # the next nightly bulk set no longer lists the student: gone with the enrollment
    nightly = {
        **CLASSLINK_1_1,
        "users.csv": without(CLASSLINK_1_1["users.csv"], "S-5001"),
        "enrollments.csv": without(CLASSLINK_1_1["enrollments.csv"], "101-ALG1-1-S-5001"),
    }
    nightly_parts = [("file", ("OneRoster.zip", zipped(nightly), "application/zip"))]
    r = await finished(
        analytics, auth("edtech"), await analytics.post(URL, files=nightly_parts, headers=auth("edtech"))
    )
    assert r.json()["result"]["deleted"] == {
        "orgs": 0,
        "academic_sessions": 0,
        "classes": 0,
        "users": 1,
        "enrollments": 1,
    }
    assert await stored(analytics_app[0], district) == ({"T-9001", "A-7001"}, {"101-ALG1-1-T-9001"})


CLEVER_1_1 = {
    "manifest.csv": manifest(
        "1.1",
        academicSessions="bulk",
        classes="bulk",
        courses="bulk",
        enrollments="bulk",
        orgs="bulk",
        users="bulk",
    ),
    "academicSessions.csv": """sourcedId,status,dateLastModified,title,type,startDate,endDate,parentSourcedId,schoolYear
5f1a2b3c4d5e6f7a8b9c0d1e,,,Fall 2026,term,2026-08-17,2026-12-19,,2027
""",
    "orgs.csv": """sourcedId,status,dateLastModified,name,type,identifier,parentSourcedId
5f1a2b3c4d5e6f7a8b9c0d00,,,Clever Unified,district,,
5f1a2b3c4d5e6f7a8b9c0d01,,,Clever Elementary,school,1234,5f1a2b3c4d5e6f7a8b9c0d00
""",
    "courses.csv": """sourcedId,status,dateLastModified,schoolYearSourcedId,title,courseCode,grades,orgSourcedId,subjects,subjectCodes
5f1a2b3c4d5e6f7a8b9c0d30,,,,Reading 3,R3,03,5f1a2b3c4d5e6f7a8b9c0d01,,
""",
    "classes.csv": """sourcedId,status,dateLastModified,title,grades,courseSourcedId,classCode,classType,location,schoolSourcedId,termSourcedIds,subjects,subjectCodes,periods
5f1a2b3c4d5e6f7a8b9c0d40,,,Reading 3 - Smith,03,5f1a2b3c4d5e6f7a8b9c0d30,,scheduled,,5f1a2b3c4d5e6f7a8b9c0d01,5f1a2b3c4d5e6f7a8b9c0d1e,English,,
""",
    "users.csv": """sourcedId,status,dateLastModified,enabledUser,orgSourcedIds,role,username,userIds,givenName,familyName,middleName,identifier,email,sms,phone,agentSourcedIds,grades,password
5f1a2b3c4d5e6f7a8b9c0d50,,,true,5f1a2b3c4d5e6f7a8b9c0d01,teacher,msmith,,Mary,Smith,,T100,msmith@clever.example,,,,,
5f1a2b3c4d5e6f7a8b9c0d51,,,true,5f1a2b3c4d5e6f7a8b9c0d01,student,jj3,,Jo,Jones,,S200,,,,,03,
""",
    "enrollments.csv": """sourcedId,status,dateLastModified,classSourcedId,schoolSourcedId,userSourcedId,role,primary,beginDate,endDate
5f1a2b3c4d5e6f7a8b9c0d60,,,5f1a2b3c4d5e6f7a8b9c0d40,5f1a2b3c4d5e6f7a8b9c0d01,5f1a2b3c4d5e6f7a8b9c0d50,teacher,true,,
5f1a2b3c4d5e6f7a8b9c0d61,,,5f1a2b3c4d5e6f7a8b9c0d40,5f1a2b3c4d5e6f7a8b9c0d01,5f1a2b3c4d5e6f7a8b9c0d51,student,false,,
""",
}
"""A OneRoster 1.1 set as Clever sends it to an application's SFTP (HMH's Clever page,
http://downloads.hmlt.hmco.com/Help/ImportMngmt/Administrator/SIS_Vendors/Clever.htm: Clever's
OneRoster files include the classes' terms, so sections need term dates). Clever's own pages found
do not give the columns: they are the 1.1 CSV Tables', with Clever's 24-hex object ids as sourcedIds
and the files inside a folder of the zip (tolerated: the binding wants them at the root)."""


async def test_a_clever_oneroster_1_1_export_imports(
    analytics: httpx.AsyncClient,
    analytics_app: tuple[FastAPI, httpx.AsyncClient],
    auth: TokenFactory,
    district: str,
) -> None:
    parts = [("file", ("clever-oneroster.zip", zipped(CLEVER_1_1, folder="oneroster/"), "application/zip"))]
    r = await finished(
        analytics, auth("edtech"), await analytics.post(URL, files=parts, headers=auth("edtech"))
    )
    assert r.json()["state"] == "succeeded", r.text
    assert r.json()["errors"] == []
    assert r.json()["result"]["upserted"] == {
        "orgs": 2,
        "academic_sessions": 1,
        "classes": 1,
        "users": 2,
        "enrollments": 2,
    }
    async with analytics_app[0].state.runtime.db.transaction() as session:
        links = (
            await session.scalars(
                select(RosterClassTerm.term_id).where(RosterClassTerm.district_id == district)
            )
        ).all()
    assert links == ["5f1a2b3c4d5e6f7a8b9c0d1e"]


USER_IDS = st.integers(min_value=0, max_value=11)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(before=st.sets(USER_IDS), listed=st.dictionaries(USER_IDS, st.booleans()))
def test_after_a_bulk_users_file_the_roster_is_what_it_lists(
    database_url: str, before: set[int], listed: dict[int, bool]
) -> None:
    """For any stored users and any bulk users.csv (True = a valid row, False = a rejected one): the
    district holds the valid rows plus the stored users the file lists but rejects, and only their
    enrollments; a file without one valid row changes nothing."""
    head = "sourcedId,status,dateLastModified,enabledUser,orgSourcedIds,role,username,userIds,givenName,familyName,middleName,identifier,email,sms,phone,agentSourcedIds,grades,password\n"

    def users(rows: dict[int, bool]) -> bytes:
        lines = [
            f"u{i},,,true,sch-1,student,u{i},,G,F,,,,,,,{'05' if ok else '5th'},\n"
            for i, ok in sorted(rows.items())
        ]
        return (head + "".join(lines)).encode()

    enrollments = (
        "sourcedId,status,dateLastModified,classSourcedId,schoolSourcedId,userSourcedId,role,primary,beginDate,endDate\n"
        + "".join(f"e{i},,,c-math,sch-1,u{i},student,false,,\n" for i in sorted(before))
    )
    initial: dict[str, bytes] = {
        "orgs.csv": ORGS.encode(),
        "classes.csv": CLASSES.encode(),
        "users.csv": users(dict.fromkeys(before, True)),
    }
    if before:
        initial["enrollments.csv"] = enrollments.encode()

    async def run() -> tuple[set[str], set[str]]:
        db = Database(database_url, "analytics", pool_size=2)
        district = f"prop-{uuid.uuid4().hex[:10]}"
        try:
            await import_files(db, district_id=district, files=initial)
            bulk: dict[str, Any] = {
                "manifest.csv": manifest(users="bulk").encode(),
                "users.csv": users(listed),
            }
            await import_files(db, district_id=district, files=bulk)
            async with db.transaction() as session:
                kept = set(
                    (
                        await session.scalars(
                            select(RosterUser.sourced_id).where(RosterUser.district_id == district)
                        )
                    ).all()
                )
                enrolled = set(
                    (
                        await session.scalars(
                            select(RosterEnrollment.user_id).where(RosterEnrollment.district_id == district)
                        )
                    ).all()
                )
            return kept, enrolled
        finally:
            await db.dispose()

    kept, enrolled = asyncio.run(run())
    valid = {i for i, ok in listed.items() if ok}
    expected = valid | (before & set(listed)) if valid else before
    assert kept == {f"u{i}" for i in expected}
    assert enrolled == {f"u{i}" for i in before & expected}


async def test_bulk_import_and_terms_on_the_embedded_sqlite(tmp_path: Path) -> None:
    """The same rules on SQLite (the embedded database): bulk removal with its cascade, and terms."""
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'analytics.db'}", "analytics")
    try:
        async with db.engine.begin() as conn:
            await conn.run_sync(Base.metadata.create_all)
        today = dt.date(2027, 3, 10)
        files = {**FILES, "academicSessions.csv": sessions_csv(today), "classes.csv": CLASSES_IN_TERMS}
        done = await import_files(db, district_id="d", files={k: v.encode() for k, v in files.items()})
        assert [e.field for e in done.report.errors] == ["endDate"]
        bulk = {"manifest.csv": manifest(users="bulk"), "users.csv": blank_status(without(USERS, "s4"))}
        done = await import_files(db, district_id="d", files={k: v.encode() for k, v in bulk.items()})
        assert (done.summary.deleted["users"], done.summary.deleted["enrollments"]) == (1, 1)
        async with db.transaction() as session:
            defaults = Settings(database_url="sqlite+aiosqlite://")
            term = await term_containing(
                session,
                district_id="d",
                settings=await effective_settings(session, district_id="d", defaults=defaults),
                day=today,
            )
            assert (term.session_id, term.start, term.end) == (
                "q2",
                dt.date(2027, 3, 5),
                dt.date(2027, 3, 29),
            )
    finally:
        await db.dispose()
