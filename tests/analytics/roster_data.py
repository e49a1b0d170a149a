"""A small OneRoster data set: two schools, two classes (math grade 5, science grade 6), two
teachers, four students; helpers to upload it. (The CSV header lines are long.)"""

# ruff: noqa: E501
from __future__ import annotations

import asyncio
import io
import zipfile

import httpx

ORGS = """sourcedId,status,dateLastModified,name,type,identifier,parentSourcedId
dist,active,2026-01-01,Springfield District,district,,
sch-1,active,2026-01-01,Lincoln Elementary,school,,dist
sch-2,active,2026-01-01,Adams Middle,school,,dist
"""
CLASSES = """sourcedId,status,dateLastModified,title,grades,courseSourcedId,classCode,classType,location,schoolSourcedId,termSourcedIds,subjects
c-math,active,2026-01-01,Math 5,05,crs-1,M5,scheduled,,sch-1,t1,Math
c-sci,active,2026-01-01,Science 6,06,crs-2,S6,scheduled,,sch-2,t1,Science
"""
USERS = """sourcedId,status,dateLastModified,enabledUser,orgSourcedIds,role,username,userIds,givenName,familyName,middleName,identifier,email,sms,phone,agentSourcedIds,grades,password
t1,active,2026-01-01,true,sch-1,teacher,t1,,Ada,Teach,,,,,,,,
t2,active,2026-01-01,true,sch-2,teacher,t2,,Bob,Teach,,,,,,,,
s1,active,2026-01-01,true,sch-1,student,s1,,S,One,,,,,,,05,
s2,active,2026-01-01,true,sch-1,student,s2,,S,Two,,,,,,,05,
s3,active,2026-01-01,true,sch-2,student,s3,,S,Three,,,,,,,06,
s4,active,2026-01-01,true,sch-2,student,s4,,S,Four,,,,,,,,
"""
ENROLLMENTS = """sourcedId,status,dateLastModified,classSourcedId,schoolSourcedId,userSourcedId,role,primary,beginDate,endDate
e1,active,2026-01-01,c-math,sch-1,t1,teacher,true,,
e2,active,2026-01-01,c-math,sch-1,s1,student,false,,
e3,active,2026-01-01,c-math,sch-1,s2,student,false,,
e4,active,2026-01-01,c-sci,sch-2,t2,teacher,true,,
e5,active,2026-01-01,c-sci,sch-2,s3,student,false,,
e6,active,2026-01-01,c-sci,sch-2,s4,student,false,,
"""
FILES = {"orgs.csv": ORGS, "classes.csv": CLASSES, "users.csv": USERS, "enrollments.csv": ENROLLMENTS}


def as_zip(files: dict[str, str]) -> bytes:
    """The files in one zip archive."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in files.items():
            archive.writestr(f"oneroster/{name}", text)
    return buffer.getvalue()


URL = "/api/analytics/rosters/import"
FINISHED = ("succeeded", "failed")


async def finished(
    client: httpx.AsyncClient, headers: dict[str, str], accepted: httpx.Response, *, seconds: float = 120
) -> httpx.Response:
    """Follow a queued import's status resource (its `Location`) until the import ends; its last answer."""
    assert accepted.status_code == 202, accepted.text
    location = accepted.headers["location"]
    deadline = asyncio.get_running_loop().time() + seconds
    while True:
        r = await client.get(location, headers=headers)
        assert r.status_code == 200, r.text
        if r.json()["state"] in FINISHED:
            return r
        assert asyncio.get_running_loop().time() < deadline, f"the import did not end: {r.text}"
        await asyncio.sleep(0.02)


async def upload(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    files: dict[str, str] | None = None,
    *,
    zipped: bool = False,
) -> httpx.Response:
    """POST the files (or a zip of them) to the roster import. A refused upload's answer (4xx) is
    returned as it is; a queued one (202) is followed until the import ends, and the import's last
    status (200, `state` succeeded, `result` the summary, `errors` the bad rows) is returned."""
    files = files or FILES
    if zipped:
        parts = [("file", ("roster.zip", as_zip(files), "application/zip"))]
    else:
        parts = [("file", (name, text.encode(), "text/csv")) for name, text in files.items()]
    r = await client.post(URL, files=parts, headers=headers)
    if r.status_code != 202:
        return r
    r = await finished(client, headers, r)
    assert r.json()["state"] == "succeeded", r.text
    return r


MANIFEST_FILES = {
    "1.1": [
        "academicSessions",
        "categories",
        "classes",
        "classResources",
        "courses",
        "courseResources",
        "demographics",
        "enrollments",
        "lineItems",
        "orgs",
        "resources",
        "results",
        "users",
    ],
    "1.2": [
        "academicSessions",
        "categories",
        "classes",
        "classResources",
        "courses",
        "courseResources",
        "demographics",
        "enrollments",
        "lineItemLearningObjectiveIds",
        "lineItems",
        "lineItemScoreScales",
        "orgs",
        "resources",
        "resultLearningObjectiveIds",
        "results",
        "resultScoreScales",
        "roles",
        "scoreScales",
        "userProfiles",
        "userResources",
        "users",
    ],
}
"""The `file.*` rows of a manifest.csv (OneRoster 1.1 CSV Tables / 1.2 CSV Binding, table 3.1)."""


def manifest(version: str = "1.1", source: str | None = None, **modes: str) -> str:
    """A manifest.csv: `manifest(users="bulk")` declares users.csv bulk and every other file absent."""
    rows = ["propertyName,value", "manifest.version,1.0", f"oneroster.version,{version}"]
    rows += [f"file.{name},{modes.get(name, 'absent')}" for name in MANIFEST_FILES[version]]
    if source:
        rows += [f"source.systemName,{source}", f"source.systemCode,{source}"]
    return "\n".join(rows) + "\n"
