"""Roster imports as background jobs: bounded answers for huge bad files, the status resource through
its states, failures that change nothing, uploads refused before they are stored, other requests
served while an import runs (PostgreSQL and the embedded SQLite), and replicas that never run one
job twice."""

# ruff: noqa: E501
from __future__ import annotations

import asyncio
import io
import uuid
import zipfile
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any
from unittest import mock

import httpx
import pytest
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, text, update

from services.analytics.models import RosterImportJob, RosterOrg, RosterUser
from services.analytics.rosters import jobs, service
from services.analytics.rosters.progress import FIRST_ERRORS, Report
from services.analytics.rosters.repository import job_lock_key
from services.analytics.rosters.schemas import RowError
from services.analytics.rosters.upload import inspect
from shared.db import Database
from shared.migrations import upgrade
from tests.analytics.roster_data import FILES, ORGS, URL, USERS, finished, manifest, upload
from tests.fixtures.auth import TokenFactory
from tests.fixtures.services import AppFactory

Analytics = tuple[FastAPI, httpx.AsyncClient]
USERS_HEADER = USERS.splitlines()[0]


def users_csv(n: int, *, prefix: str = "u") -> str:
    """n valid students of sch-1."""
    rows = (
        f"{prefix}{i},active,2026-01-01,true,sch-1,student,{prefix}{i},,G,F{i},,,,,,,05," for i in range(n)
    )
    return "\n".join([USERS_HEADER, *rows]) + "\n"


def deflated(files: dict[str, str]) -> bytes:
    """The files in one compressed zip."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, body in files.items():
            archive.writestr(name, body)
    return buffer.getvalue()


def zip_part(files: dict[str, str], name: str = "roster.zip") -> list[tuple[str, tuple[str, bytes, str]]]:
    return [("file", (name, deflated(files), "application/zip"))]


async def stored_users(app: FastAPI, district: str) -> set[str]:
    async with app.state.runtime.db.transaction() as session:
        rows = await session.scalars(select(RosterUser.sourced_id).where(RosterUser.district_id == district))
        return set(rows.all())


async def test_fifty_thousand_invalid_rows_answer_the_first_errors_and_exact_counts(
    analytics: httpx.AsyncClient, analytics_app: Analytics, auth: TokenFactory, district: str
) -> None:
    """The issue's million invalid rows, scaled down: the answer stays small, every row is counted."""
    assert (await upload(analytics, auth("edtech"))).status_code == 200
    n = 50_000
    rows = []
    for i in range(n):
        if i % 3 == 0:
            rows.append(f"x{i},,,true,sch-1,wizard,x{i},,,,,,,,,,05,")
        elif i % 3 == 1:
            rows.append(f"x{i},,,true,sch-1,student,x{i},,,,,,,,,,5th,")
        else:
            rows.append(",,,true,sch-1,student,,,,,,,,,,,05,")
    bulk = {"manifest.csv": manifest(users="bulk"), "users.csv": "\n".join([USERS_HEADER, *rows]) + "\n"}
    r = await upload(analytics, auth("edtech"), bulk, zipped=True)
    assert r.status_code == 200, r.text
    job = r.json()
    assert len(r.content) < 32_000  # 50,000 bad rows, a bounded answer
    assert job["errors_total"] == n + 1  # and the bulk file that removes nothing
    assert job["error_counts"] == {
        "users.csv": {
            "role": len(range(0, n, 3)),
            "grades": len(range(1, n, 3)),
            "sourcedId": len(range(2, n, 3)),
            "file": 1,
        }
    }
    assert len(job["errors"]) == FIRST_ERRORS
    assert [(e["line"], e["field"]) for e in job["errors"][:3]] == [
        (2, "role"),
        (3, "grades"),
        (4, "sourcedId"),
    ]
    assert [e["line"] for e in job["errors"]] == list(range(2, FIRST_ERRORS + 2))
    assert job["files"] == {"users.csv": {"rows": n, "accepted": 0, "rejected": n}}
    assert job["result"]["upserted"]["users"] == 0
    assert job["result"]["deleted"]["users"] == 0
    assert await stored_users(analytics_app[0], district) == {"t1", "t2", "s1", "s2", "s3", "s4"}


async def test_the_status_resource_goes_queued_running_succeeded_with_progress_per_file(
    analytics: httpx.AsyncClient,
    analytics_app: Analytics,
    auth: TokenFactory,
    district: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Held after its first chunk of users.csv, the running import says how far it is."""
    reading = service._Import.chunk
    reached, go_on = asyncio.Event(), asyncio.Event()

    async def held(self: Any, spec: Any, batch: Any, read: Any) -> None:
        await reading(self, spec, batch, read)
        if spec.name == "users.csv" and self.district_id == district and not go_on.is_set():
            reached.set()
            await go_on.wait()

    monkeypatch.setattr(service._Import, "chunk", held)
    n = 3 * service.CHUNK_ROWS + 7
    r = await analytics.post(
        URL, files=zip_part({"orgs.csv": ORGS, "users.csv": users_csv(n)}), headers=auth("edtech")
    )
    assert r.status_code == 202, r.text
    queued = r.json()
    assert queued["state"] == "queued" and queued["result"] is None
    assert queued["files"] == {
        name: {"rows": 0, "accepted": 0, "rejected": 0} for name in ("orgs.csv", "users.csv")
    }
    assert r.headers["location"] == f"/api/analytics/rosters/imports/{queued['id']}"
    await asyncio.wait_for(reached.wait(), timeout=60)
    running = (await analytics.get(r.headers["location"], headers=auth("admin"))).json()
    assert (running["state"], running["step"]) == ("running", "reading users.csv")
    assert running["files"]["orgs.csv"] == {"rows": 3, "accepted": 3, "rejected": 0}
    assert running["files"]["users.csv"] == {
        "rows": service.CHUNK_ROWS,
        "accepted": service.CHUNK_ROWS,
        "rejected": 0,
    }
    assert running["started_at"] is not None and running["finished_at"] is None
    assert await stored_users(analytics_app[0], district) == set()  # nothing applied while reading
    go_on.set()
    done = (await finished(analytics, auth("edtech"), r)).json()
    assert done["state"] == "succeeded" and done["step"] is None and done["failure"] is None
    assert done["files"]["users.csv"] == {"rows": n, "accepted": n, "rejected": 0}
    assert done["result"]["upserted"] == {
        "orgs": 3,
        "academic_sessions": 0,
        "classes": 0,
        "users": n,
        "enrollments": 0,
    }
    assert len(await stored_users(analytics_app[0], district)) == n


async def test_wait_answers_the_finished_import(analytics: httpx.AsyncClient, auth: TokenFactory) -> None:
    r = await analytics.post(f"{URL}?wait=true", files=zip_part(FILES), headers=auth("edtech"))
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "succeeded"
    assert r.json()["result"]["upserted"]["users"] == 6


def corrupted(files: dict[str, str], victim: str) -> bytes:
    """A zip whose directory is intact but whose `victim` member's compressed data is damaged."""
    data = bytearray(deflated(files))
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as archive:
        info = archive.getinfo(victim)
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    middle = start + info.compress_size // 2
    data[middle : middle + 64] = bytes(64)
    return bytes(data)


async def test_a_zip_member_that_does_not_decompress_fails_the_import_and_changes_nothing(
    analytics: httpx.AsyncClient, analytics_app: Analytics, auth: TokenFactory, district: str
) -> None:
    assert (await upload(analytics, auth("edtech"))).status_code == 200
    orgs = ORGS + "sch-9,active,2026-01-01,New School,school,,dist\n"
    files = {
        "manifest.csv": manifest(orgs="bulk", users="bulk"),
        "orgs.csv": orgs,
        "users.csv": users_csv(5_000),
    }
    broken = corrupted(files, "users.csv")
    r = await analytics.post(
        URL, files=[("file", ("roster.zip", broken, "application/zip"))], headers=auth("edtech")
    )
    assert r.status_code == 202, r.text  # the directory reads fine: the damage shows while reading
    job = (await finished(analytics, auth("edtech"), r)).json()
    assert job["state"] == "failed"
    assert job["result"] is None and job["finished_at"] is not None
    assert "cannot be read" in job["failure"] and "users.csv" in job["failure"], job["failure"]
    assert await stored_users(analytics_app[0], district) == {"t1", "t2", "s1", "s2", "s3", "s4"}
    async with analytics_app[0].state.runtime.db.transaction() as session:
        orgs_now = set(
            (
                await session.scalars(select(RosterOrg.sourced_id).where(RosterOrg.district_id == district))
            ).all()
        )
        pieces = await session.scalar(
            text("SELECT count(*) FROM analytics.roster_import_chunk WHERE job_id = :j"),
            {"j": uuid.UUID(job["id"])},
        )
    assert orgs_now == {"dist", "sch-1", "sch-2"}  # orgs.csv was read before users.csv, not applied
    assert pieces == 0  # the upload is gone with its job's end


async def test_uploads_refused_before_anything_is_stored(
    analytics: httpx.AsyncClient, auth: TokenFactory
) -> None:
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("users.csv", USERS_HEADER + "\n" + "\0" * (20 * 1024 * 1024))
    cases = [
        (zip_part({}, "empty.zip"), 422, "no OneRoster file"),
        ([("file", ("roster.zip", bomb.getvalue(), "application/zip"))], 422, "zip bomb"),
        ([("file", ("roster.zip", b"PK\x03\x04 not really", "application/zip"))], 422, "not a valid zip"),
        (zip_part(FILES) + zip_part({"users.csv": USERS}, "more.zip"), 422, "more than one users.csv"),
    ]
    for parts, status, words in cases:
        r = await analytics.post(URL, files=parts, headers=auth("edtech"))
        assert r.status_code == status, r.text
        assert words in r.json()["detail"], r.text
        assert r.json()["errors"][0]["field"] == "file"
    r = await analytics.post(URL, content=b"users", headers={**auth("edtech"), "content-type": "text/csv"})
    assert r.status_code == 415


async def test_the_body_and_the_unzipped_files_are_capped(
    service_app: AppFactory, auth: TokenFactory
) -> None:
    async with service_app(
        "analytics", roster_max_upload_bytes=64 * 1024, roster_max_unzipped_bytes=16 * 1024
    ) as (_, client):
        r = await client.post(URL, files=zip_part({"users.csv": users_csv(5_000)}), headers=auth("edtech"))
        assert r.status_code == 413, r.text  # unzips past 16 KiB
        assert "uncompressed" in r.json()["detail"]
        big = [("file", ("users.csv", users_csv(5_000).encode(), "text/csv"))]
        r = await client.post(URL, files=big, headers=auth("edtech"))
        assert r.status_code == 413, r.text  # a body past 64 KiB
        small = await client.post(URL, files=zip_part(FILES), headers=auth("edtech"))
        assert small.status_code == 202, small.text
        assert (await finished(client, auth("edtech"), small)).json()["state"] == "succeeded"


async def test_an_import_is_its_districts_and_its_managers(
    analytics: httpx.AsyncClient, auth: TokenFactory
) -> None:
    r = await analytics.post(URL, files=zip_part(FILES), headers=auth("edtech"))
    location = r.headers["location"]
    assert (
        await analytics.get(location, headers=auth("edtech", district_id="another-district"))
    ).status_code == 404
    assert (await analytics.get(location, headers=auth("teacher"))).status_code == 403
    assert (
        await analytics.get(f"{URL.rsplit('/', 1)[0]}/imports/{uuid.uuid4()}", headers=auth("edtech"))
    ).status_code == 404
    assert (await finished(analytics, auth("edtech"), r)).json()["state"] == "succeeded"


@pytest.fixture(scope="session")
async def roster_sqlite_analytics(
    service_app: AppFactory, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Analytics]:
    """The analytics service on a migrated SQLite file, as the embedded default runs it."""
    url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('rosters') / 'analytics.db'}"
    upgrade("analytics", url)
    async with service_app("analytics", database_url=url) as pair:
        yield pair


@pytest.fixture(params=["postgresql", "sqlite"])
def either(request: pytest.FixtureRequest) -> Analytics:
    """The analytics app and its client, on PostgreSQL, then on the embedded SQLite."""
    pair: Analytics = request.getfixturevalue(
        "analytics_app" if request.param == "postgresql" else "roster_sqlite_analytics"
    )
    return pair


async def test_other_requests_are_answered_while_a_large_import_runs(
    either: Analytics, auth: TokenFactory
) -> None:
    """While the import reads a large file, a read and a write elsewhere are answered, and answered
    before the import ends (one process; SQLite's one writer included)."""
    _, client = either
    n = 20_000
    r = await client.post(
        URL, files=zip_part({"orgs.csv": ORGS, "users.csv": users_csv(n)}), headers=auth("edtech")
    )
    assert r.status_code == 202, r.text
    while True:
        status = (await client.get(r.headers["location"], headers=auth("edtech"))).json()
        if status["step"] == "reading users.csv" and status["files"]["users.csv"]["rows"] > 0:
            break
        assert status["state"] in ("queued", "running"), status
        await asyncio.sleep(0.01)
    created = await client.post(
        "/api/analytics/integrations",
        headers=auth("edtech"),
        json={"name": "LMS", "tool_id": str(uuid.uuid4())},
    )
    listed = await client.get("/api/analytics/integrations", headers=auth("edtech"))
    after = (await client.get(r.headers["location"], headers=auth("edtech"))).json()
    assert (created.status_code, listed.status_code) == (201, 200), (created.text, listed.text)
    assert after["state"] == "running" and after["files"]["users.csv"]["rows"] < n, after
    assert (await finished(client, auth("edtech"), r)).json()["state"] == "succeeded"


async def queued_job(db: Database, district: str, files: dict[str, str]) -> uuid.UUID:
    """A job queued as an upload queues it, without this process starting it."""
    zipped = io.BytesIO(deflated(files))
    upload_, _ = inspect([("roster.zip", zipped)], max_unzipped=1 << 30)
    job = await jobs.submit(db, district_id=district, upload=upload_, parts=[zipped])
    return job.id


async def job_row(db: Database, job_id: uuid.UUID) -> RosterImportJob:
    async with db.transaction() as session:
        job = await session.get(RosterImportJob, job_id)
        assert job is not None
        return job


@pytest.fixture
async def replicas(analytics_app: Analytics, database_url: str) -> AsyncIterator[tuple[Database, Database]]:
    """Two replicas' databases: the app's, and a second engine on the same PostgreSQL database."""
    other = Database(database_url, "analytics", pool_size=2)
    try:
        yield analytics_app[0].state.runtime.db, other
    finally:
        await other.dispose()


def counting_runs(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every import run from now on, by district."""
    runs: list[str] = []
    real: Callable[..., Awaitable[Any]] = jobs.import_roster

    async def counted(*args: Any, **kwargs: Any) -> Any:
        runs.append(kwargs["district_id"])
        return await real(*args, **kwargs)

    monkeypatch.setattr(jobs, "import_roster", counted)
    return runs


async def test_two_replicas_never_run_one_job_twice(
    replicas: tuple[Database, Database], district: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    a, b = replicas
    runs = counting_runs(monkeypatch)
    job_id = await queued_job(a, district, {"orgs.csv": ORGS, "users.csv": users_csv(3_000)})
    claimed = await asyncio.gather(jobs.run_next(a, job_id=job_id), jobs.run_next(b, job_id=job_id))
    assert claimed.count(job_id) == 1 and claimed.count(None) == 1
    assert runs == [district]
    job = await job_row(a, job_id)
    assert (job.state, job.attempts) == ("succeeded", 1)
    # finished: neither replica takes it again
    assert await jobs.run_next(a, job_id=job_id) is None
    assert await jobs.run_next(b, job_id=job_id) is None
    assert runs == [district]


async def test_a_running_job_stays_with_its_live_replica_and_moves_when_it_dies(
    replicas: tuple[Database, Database], district: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    a, b = replicas
    runs = counting_runs(monkeypatch)
    job_id = await queued_job(a, district, {"orgs.csv": ORGS, "users.csv": users_csv(100)})
    # replica A claims it (its lock held on its connection), and stops there: as if it were busy, then died
    async with a.engine.connect() as conn:  # the connection replica A runs the job on
        assert await conn.scalar(text("SELECT pg_try_advisory_lock(:k)"), {"k": job_lock_key(job_id)})
        async with a.transaction() as session:
            await session.execute(
                update(RosterImportJob)
                .where(RosterImportJob.id == job_id)
                .values(state="running", attempts=1)
            )
        assert await jobs.run_next(b, job_id=job_id) is None  # A is alive: B leaves it
        assert runs == []
        await conn.invalidate()  # A dies: its connection, and the lock, go
    assert await jobs.run_next(b, job_id=job_id) == job_id
    assert runs == [district]
    job = await job_row(a, job_id)
    assert (job.state, job.attempts) == ("succeeded", 2)


async def test_a_job_interrupted_too_often_is_given_up(
    replicas: tuple[Database, Database], district: str
) -> None:
    a, b = replicas
    job_id = await queued_job(a, district, {"users.csv": users_csv(10)})
    async with a.transaction() as session:
        await session.execute(
            update(RosterImportJob)
            .where(RosterImportJob.id == job_id)
            .values(state="running", attempts=jobs.MAX_ATTEMPTS)
        )
    assert await jobs.run_next(b, job_id=job_id) is None
    job = await job_row(a, job_id)
    assert job.state == "failed" and "interrupted" in (job.failure or "")


USERS_1_2_HEADER = "sourcedId,status,dateLastModified,enabledUser,username,userIds,givenName,familyName,grades,primaryOrgSourcedId"
ROLES_HEADER = "sourcedId,status,dateLastModified,userSourcedId,roleType,role,orgSourcedId"
USER_ROW = st.tuples(st.integers(0, 6), st.sampled_from(["ok", "bad", "gone"]), st.integers(0, 3))
ROLE_ROW = st.tuples(
    st.integers(0, 6), st.booleans(), st.sampled_from(["teacher", "student", "aide", "wizard"])
)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    users=st.lists(USER_ROW, max_size=14),
    roles=st.lists(ROLE_ROW, max_size=10),
    mode=st.sampled_from(["bulk", "delta"]),
)
def test_the_outcome_does_not_depend_on_how_the_files_are_cut_into_steps(
    database_url: str, users: list[tuple[int, str, int]], roles: list[tuple[int, bool, str]], mode: str
) -> None:
    """For any users.csv and roles.csv (1.2; rows repeated, rejected, `tobedeleted`, primary and
    secondary roles in any order) over stored users: read one row per step or all at once, the
    district ends the same, and so do the counts, the errors and the summary."""
    users_csv_ = "\n".join(
        [USERS_1_2_HEADER]
        + [
            f"u{i},{'tobedeleted' if kind == 'gone' else ''},,true,u{i},,G,F{n},{'5th' if kind == 'bad' else '05'},sch-1"
            for i, kind, n in users
        ]
    )
    roles_csv = "\n".join(
        [ROLES_HEADER]
        + [
            f"r{k},,,u{i},{'primary' if p else 'secondary'},{role},sch-1"
            for k, (i, p, role) in enumerate(roles)
        ]
    )
    upload = {
        "manifest.csv": manifest("1.2", users=mode, roles=mode).encode(),
        "users.csv": (users_csv_ + "\n").encode(),
        "roles.csv": (roles_csv + "\n").encode(),
    }
    before = {
        "orgs.csv": ORGS.encode(),
        "users.csv": users_csv(4).encode(),
    }

    async def run(chunk: int) -> tuple[Any, ...]:
        db = Database(database_url, "analytics", pool_size=2)
        district = f"steps-{uuid.uuid4().hex[:10]}"
        try:
            await service.import_files(db, district_id=district, files=before)
            with mock.patch.object(service, "CHUNK_ROWS", chunk):
                done = await service.import_files(db, district_id=district, files=upload)
            async with db.transaction() as session:
                rows = await session.execute(
                    select(
                        RosterUser.sourced_id, RosterUser.role, RosterUser.family_name, RosterUser.grades
                    ).where(RosterUser.district_id == district)
                )
                stored = sorted(tuple(r) for r in rows.all())
            report = done.report.to_json()
            return (
                stored,
                done.summary.model_dump(),
                report["files"],
                report["errors"],
                report["error_counts"],
            )
        finally:
            await db.dispose()

    one_by_one, all_at_once = asyncio.run(run(1)), asyncio.run(run(500))
    assert one_by_one == all_at_once


ERROR = st.tuples(st.sampled_from(["orgs.csv", "users.csv"]), st.sampled_from(["role", "grades", "file"]))


@given(
    earlier=st.lists(ERROR, max_size=150), last=st.lists(st.sampled_from(["role", "grades"]), max_size=150)
)
def test_a_report_keeps_the_first_errors_and_counts_all_and_forgets_a_file_read_again(
    earlier: list[tuple[str, str]], last: list[str]
) -> None:
    """For any bad rows: the first FIRST_ERRORS are kept in order, every one is counted per file and
    field; forgetting the file being read (it turned out not UTF-8) leaves what the earlier files
    gave, as if it had never been read."""
    report = Report(["orgs.csv", "users.csv", "enrollments.csv"])
    errors = [
        RowError(file=f, line=n + 2, field=field, message="bad") for n, (f, field) in enumerate(earlier)
    ]
    for error in errors:
        report.reject(error)
    kept_before, counts_before = list(report.errors), {f: dict(c) for f, c in report.counts.items()}
    read_again = [
        RowError(file="enrollments.csv", line=n + 2, field=f, message="bad") for n, f in enumerate(last)
    ]
    for error in read_again:
        report.reject(error)
    everything = errors + read_again
    assert report.errors == everything[:FIRST_ERRORS]
    assert report.total == len(everything)
    assert report.counts == {
        f: dict(Counter(e.field for e in everything if e.file == f)) for f in {e.file for e in everything}
    }
    report.restart("enrollments.csv")
    assert (report.errors, report.counts, report.total) == (kept_before, counts_before, len(errors))
