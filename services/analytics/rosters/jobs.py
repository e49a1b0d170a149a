"""Roster imports as background jobs: queued by an upload, run by one replica, watched by the client.

Lifecycle: an upload creates a `queued` job in the transaction that stores its parts (`submit`);
the replica that received it starts on it at once, and every replica looks for queued jobs every
`POLL_S` (a replica that received an upload and died leaves its job to the others). A job is
claimed in a short transaction: the candidate rows (the oldest unfinished job of each district: a
district's imports run one after the other, in the order they came) are locked `FOR UPDATE SKIP
LOCKED`, and the claimant takes the job's session-level advisory lock on the connection that will
run it. The job is then `running`; the lock lasts as long as that connection, so a job still
`running` whose lock nobody holds was left by a replica that died, and is claimed again (at most
`MAX_ATTEMPTS` times). On SQLite (one process) the process's own set of running jobs stands in for
the locks. Every write to the job is fenced by its attempt number.

The job reads the upload into staging tables and applies it in one transaction
(`rosters/service.py`), in which it also records its success; a failure (a zip member that does not
decompress, anything unexpected) is recorded as `failed`, and the roster is as it was. Either way
the upload's pieces are deleted. A process runs one import at a time, so memory stays bounded.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import lzma
import tempfile
import time
import uuid
import zipfile
import zlib
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

import structlog
from prometheus_client import Counter
from sqlalchemy.ext.asyncio import AsyncSession

from services.analytics.models import RosterImportJob
from services.analytics.rosters.progress import Report
from services.analytics.rosters.repository import UNFINISHED, ImportJobRepository
from services.analytics.rosters.schemas import FileProgress, RosterImportJobRead, RosterImportRead, RowError
from services.analytics.rosters.service import import_roster
from services.analytics.rosters.staging import Pinned, pinned
from services.analytics.rosters.upload import CHUNK_BYTES, LocalUpload, Upload
from shared.db import Database, new_id, on_postgresql, utcnow
from shared.errors import NotFound
from shared.metrics import job_run

if TYPE_CHECKING:
    from shared.service import ServiceRuntime

log = structlog.get_logger(__name__)

IMPORTS = Counter("analytics_roster_imports_total", "Roster import jobs finished, by outcome", ["state"])
POLL_S = 2.0
"""How often every replica looks for queued (or abandoned) imports."""
MAX_ATTEMPTS = 3
"""Claims of one job before it is given up (its replica died each time)."""
SAVE_EVERY_S = 0.5
"""Least time between two progress writes of a running job."""
KEEP_FINISHED = dt.timedelta(days=30)
"""Finished jobs are answered this long, then forgotten."""
_RESTORE_PIECES = 8
"""Pieces of an upload read per query when the job copies it to a local file."""
UNREADABLE = (zipfile.BadZipFile, zlib.error, lzma.LZMAError, EOFError)
"""What reading a broken zip member raises (a bad CRC, a corrupt or truncated stream)."""


async def submit(db: Database, *, district_id: str, upload: Upload, parts: list[BinaryIO]) -> RosterImportJob:
    """Store an upload's parts and queue its import (one transaction)."""
    now = utcnow()
    job = RosterImportJob(
        id=new_id(),
        district_id=district_id,
        state="queued",
        attempts=0,
        upload=upload.to_json(),
        progress=Report(upload.files.keys()).to_json(),
        created_at=now,
        updated_at=now,
    )
    async with db.transaction() as session:
        repo = ImportJobRepository(session)
        await repo.add(job)
        for part, file in enumerate(parts):
            file.seek(0)
            seq = 0
            while data := await asyncio.to_thread(file.read, CHUNK_BYTES):
                await repo.add_chunk(job.id, part, seq, data)
                seq += 1
    return job


def read(job: RosterImportJob) -> RosterImportJobRead:
    """A job as its status resource answers it."""
    progress = job.progress or {}
    return RosterImportJobRead(
        id=job.id,
        state=job.state,
        step=progress.get("step"),
        files={name: FileProgress(**p) for name, p in progress.get("files", {}).items()},
        errors=[RowError(**e) for e in progress.get("errors", [])],
        errors_total=progress.get("errors_total", 0),
        error_counts=progress.get("error_counts", {}),
        result=RosterImportRead(**job.result) if job.result else None,
        failure=job.failure,
        created_at=job.created_at,
        started_at=job.started_at,
        finished_at=job.finished_at,
    )


async def status(session: AsyncSession, *, district_id: str, job_id: uuid.UUID) -> RosterImportJobRead:
    """One of the district's imports (404 for another district's)."""
    job = await ImportJobRepository(session).get(district_id, job_id)
    if job is None:
        raise NotFound(f"no roster import {job_id}")
    return read(job)


async def _claim(
    session: AsyncSession, job_id: uuid.UUID | None, here: set[uuid.UUID]
) -> RosterImportJob | None:
    """Claim the next job (or this one) for the session's connection; None when there is none."""
    repo = ImportJobRepository(session)
    postgres = on_postgresql(session)
    for job in await repo.candidates(job_id):
        if job.id in here or (postgres and not await repo.try_lock(job.id)):
            continue  # running here, or on a live replica
        if job.attempts >= MAX_ATTEMPTS:
            await repo.finish(
                job.id,
                job.attempts,
                state="failed",
                progress=job.progress,
                failure=f"the import was interrupted {job.attempts} times (the process running it "
                "stopped); upload the files again",
            )
            IMPORTS.labels("failed").inc()
            if postgres:
                await repo.unlock(job.id)
            continue
        await repo.start(job, utcnow())
        return job
    return None


class _Saver:
    """Writes a running job's progress, at most every SAVE_EVERY_S (and at each new step)."""

    def __init__(self, job_id: uuid.UUID, attempt: int) -> None:
        self.job_id, self.attempt = job_id, attempt
        self.last = 0.0
        self.step: str | None = None

    async def __call__(self, session: AsyncSession, report: Report) -> None:
        now = time.monotonic()
        if now - self.last < SAVE_EVERY_S and report.step == self.step:
            return
        self.last, self.step = now, report.step
        await ImportJobRepository(session).save_progress(self.job_id, self.attempt, report.to_json())


async def _restore(unit: Pinned, job_id: uuid.UUID, parts: int, folder: Path) -> list[Path]:
    """Copy an upload's parts from the database to local files, a few pieces at a time."""
    paths = []
    for part in range(parts):
        path = folder / f"part-{part}"
        with path.open("wb") as out:
            after = -1
            while True:
                async with unit.transaction() as session:
                    pieces = await ImportJobRepository(session).chunks(
                        job_id, part, after=after, limit=_RESTORE_PIECES
                    )
                if not pieces:
                    break
                for seq, data in pieces:
                    out.write(data)
                    after = seq
        paths.append(path)
    return paths


async def _execute(db: Database, unit: Pinned, job: RosterImportJob) -> str:
    """Run a claimed job to its end; its final state."""
    upload = Upload.from_json(job.upload)
    attempt = job.attempts
    report = Report(upload.files.keys())

    async def applied(session: AsyncSession, summary: RosterImportRead) -> None:
        await ImportJobRepository(session).finish(
            job.id, attempt, state="succeeded", progress=report.to_json(), result=summary.model_dump()
        )

    try:
        with tempfile.TemporaryDirectory(prefix="roster-import-") as folder:
            paths = await _restore(unit, job.id, len(upload.parts), Path(folder))
            await import_roster(
                unit,
                district_id=job.district_id,
                files=LocalUpload(upload, paths),
                manifest=upload.manifest,
                report=report,
                progress=_Saver(job.id, attempt),
                applied=applied,
            )
        return "succeeded"
    except UNREADABLE as exc:
        failure = f"the upload cannot be read ({report.step or 'reading'}): {exc}"
    except Exception as exc:
        log.exception("roster_import_failed", job_id=str(job.id), district_id=job.district_id)
        failure = f"the import failed unexpectedly ({type(exc).__name__}); it has been logged"
    report.step = None
    async with db.transaction() as session:
        await ImportJobRepository(session).finish(
            job.id, attempt, state="failed", progress=report.to_json(), failure=failure
        )
    return "failed"


async def run_next(
    db: Database, *, job_id: uuid.UUID | None = None, here: set[uuid.UUID] | None = None
) -> uuid.UUID | None:
    """Claim and run the next queued (or abandoned) import, or the given one; its id, or None when
    there was nothing this process could claim."""
    here = here if here is not None else set()
    if job_id is None:
        async with db.transaction() as session:
            if not await ImportJobRepository(session).any_unfinished():
                return None
    async with pinned(db) as unit:
        async with unit.transaction() as session:
            job = await _claim(session, job_id, here)
        if job is None:
            return None
        here.add(job.id)
        log.info(
            "roster_import_started", job_id=str(job.id), district_id=job.district_id, attempt=job.attempts
        )
        try:
            state = await _execute(db, unit, job)
        finally:
            here.discard(job.id)
    IMPORTS.labels(state).inc()
    log.info("roster_import_finished", job_id=str(job.id), district_id=job.district_id, state=state)
    return job.id


class RosterImports:
    """The roster import jobs of this process: one import at a time; the job an upload just created
    is started at once, and `run` (a background job of every replica) picks up the others."""

    def __init__(self) -> None:
        self._turn = asyncio.Lock()
        self._here: set[uuid.UUID] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._finished: dict[uuid.UUID, asyncio.Event] = {}

    def start(self, db: Database, job_id: uuid.UUID) -> None:
        """Run a job just queued here, in the background."""
        done = self._finished.setdefault(job_id, asyncio.Event())

        async def run() -> None:
            try:
                async with self._turn:
                    await run_next(db, job_id=job_id, here=self._here)
            except Exception as exc:
                log.warning("roster_import_not_run", job_id=str(job_id), error=repr(exc))
            finally:
                done.set()
                self._finished.pop(job_id, None)

        task = asyncio.create_task(run())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def wait(
        self, db: Database, *, district_id: str, job_id: uuid.UUID, seconds: float
    ) -> RosterImportJobRead:
        """The job once finished, or as it is after `seconds`."""
        deadline = time.monotonic() + seconds
        while True:
            async with db.transaction() as session:
                job = await status(session, district_id=district_id, job_id=job_id)
            left = deadline - time.monotonic()
            if job.state not in UNFINISHED or left <= 0:
                return job
            done = self._finished.get(job_id)
            with contextlib.suppress(TimeoutError):
                if done is not None:  # run here: wake when it ends
                    await asyncio.wait_for(done.wait(), timeout=min(left, POLL_S))
                else:  # run elsewhere (another replica): look again
                    await asyncio.sleep(min(left, 0.25))

    async def run(self, runtime: ServiceRuntime) -> None:
        """Background job: run queued and abandoned imports of any replica; forget old ones."""
        purged_at = 0.0
        while True:
            await asyncio.sleep(POLL_S)
            try:
                async with job_run(runtime.name, "roster_imports"):
                    async with self._turn:
                        while await run_next(runtime.db, here=self._here):
                            pass
                    if time.monotonic() - purged_at > 3600:
                        async with runtime.db.transaction() as session:
                            await ImportJobRepository(session).purge(utcnow() - KEEP_FINISHED)
                        purged_at = time.monotonic()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("roster_imports_pass_failed", error=repr(exc))

    async def stop(self) -> None:
        """Stop the imports running here (they are claimed again by the next process)."""
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
