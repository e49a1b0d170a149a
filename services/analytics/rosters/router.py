"""HTTP routes for OneRoster imports: an upload queues a background import; its status resource."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Annotated, BinaryIO

from fastapi import APIRouter, Query, Request, Response
from starlette.datastructures import FormData, UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser

from services.analytics.deps import Manager, SettingsDep, Viewer
from services.analytics.rosters import jobs
from services.analytics.rosters.jobs import RosterImports
from services.analytics.rosters.repository import UNFINISHED, RosterRepository
from services.analytics.rosters.schemas import RosterImportJobRead, SchoolRead
from services.analytics.rosters.upload import inspect
from shared.api import FILES_BODY, Page, PageDep, SessionDep, get_runtime
from shared.errors import BadRequest, PayloadTooLarge, UnsupportedMediaType

router = APIRouter(prefix="/rosters", tags=["rosters"])

MAX_PARTS = 20


def imports_of(request: Request) -> RosterImports:
    """The process's roster import jobs."""
    imports: RosterImports = request.app.state.roster_imports
    return imports


async def _limited(stream: AsyncIterator[bytes], limit: int) -> AsyncGenerator[bytes, None]:
    size = 0
    async for chunk in stream:
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"the upload exceeds the limit of {limit} bytes")
        yield chunk


async def _receive(request: Request, limit: int) -> FormData:
    """The multipart body, each file part spooled to a temporary file, refused past `limit` bytes."""
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise UnsupportedMediaType("send the OneRoster files as multipart/form-data")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"an upload of {declared} bytes exceeds the limit of {limit} bytes")
    parser = MultiPartParser(
        request.headers, _limited(request.stream(), limit), max_files=MAX_PARTS, max_fields=MAX_PARTS
    )
    try:
        return await parser.parse()
    except MultiPartException as exc:
        raise BadRequest(f"the multipart body cannot be read: {exc.message}", field="file") from exc


@router.post(
    "/import",
    status_code=202,
    response_model=RosterImportJobRead,
    responses={
        200: {"model": RosterImportJobRead, "description": "`wait=true` and the import finished"},
        413: {"description": "Upload over the body cap, or files that would unzip past theirs"},
        415: {"description": "Not multipart/form-data"},
        422: {
            "description": "No OneRoster file, a file twice, a broken or suspicious zip, a manifest "
            "that does not match the files"
        },
    },
    openapi_extra=FILES_BODY,
)
async def import_roster(
    request: Request,
    response: Response,
    principal: Manager,
    settings: SettingsDep,
    wait: Annotated[
        bool,
        Query(
            description="Answer once the import is done (200), or 202 after ANALYTICS_ROSTER_IMPORT_WAIT_S."
        ),
    ] = False,
) -> RosterImportJobRead:
    """Queue an import of OneRoster 1.1/1.2 CSVs (multipart or a zip; manifest.csv's bulk/delta/absent
    honoured): 202 with the import's status resource, which reports its progress and result."""
    db = get_runtime(request).db
    form = await _receive(request, settings.roster_max_upload_bytes)
    try:
        parts: list[tuple[str, BinaryIO]] = [
            (value.filename, value.file)
            for _, value in form.multi_items()
            if isinstance(value, UploadFile) and value.filename
        ]
        upload, kept = await asyncio.to_thread(
            inspect, parts, max_unzipped=settings.roster_max_unzipped_bytes
        )
        job = await jobs.submit(
            db, district_id=principal.district_id, upload=upload, parts=[parts[i][1] for i in kept]
        )
    finally:
        await form.close()
    imports = imports_of(request)
    imports.start(db, job.id)
    answer = jobs.read(job)
    if wait:
        answer = await imports.wait(
            db, district_id=principal.district_id, job_id=job.id, seconds=settings.roster_import_wait_s
        )
    response.headers["Location"] = str(request.url_for("roster_import_status", job_id=str(job.id)).path)
    response.status_code = 202 if answer.state in UNFINISHED else 200
    return answer


@router.get("/imports/{job_id}", response_model=RosterImportJobRead, name="roster_import_status")
async def roster_import_status(
    job_id: uuid.UUID, session: SessionDep, principal: Manager
) -> RosterImportJobRead:
    """A roster import: its state, progress per file, first bad rows and counts, and its result."""
    return await jobs.status(session, district_id=principal.district_id, job_id=job_id)


@router.get("/schools", response_model=Page[SchoolRead])
async def list_schools(session: SessionDep, principal: Viewer, page: PageDep) -> Page[SchoolRead]:
    """The district's schools as its roster has them (orgs of type `school`), by name: the values of
    the dashboards' `school_id` filter."""
    rows, total = await RosterRepository(session).schools(
        principal.district_id, limit=page.limit, offset=page.offset
    )
    return Page(
        items=[SchoolRead(sourced_id=r.sourced_id, name=r.name) for r in rows],
        total=total,
        limit=page.limit,
        offset=page.offset,
    )
