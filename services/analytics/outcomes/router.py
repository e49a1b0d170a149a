"""HTTP routes of outcome evidence: results in, analyses, and the evidence offered to the catalog."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Query, Request, status
from starlette.datastructures import UploadFile

from services.analytics.deps import Manager, Staff, public_base
from services.analytics.outcomes import service
from services.analytics.outcomes.repository import OutcomeRepository
from services.analytics.outcomes.schemas import AnalysisCreate, AnalysisRead, ResultUploadRead
from shared.api import FILES_BODY, Page, PageDep, SessionDep
from shared.errors import Unprocessable, UnsupportedMediaType

router = APIRouter(prefix="/outcomes", tags=["outcomes"])
MAX_UPLOAD_BYTES = 50 * 1024 * 1024


@router.post(
    "/results",
    response_model=ResultUploadRead,
    openapi_extra=FILES_BODY,
)
async def upload_results(request: Request, session: SessionDep, principal: Manager) -> ResultUploadRead:
    """Upload assessment results: a CSV (student, assessment, date, score [, subject, scale,
    prior_score]) or OneRoster 1.2 `results.csv` with `lineItems.csv`. Students are matched to the
    roster as usage is; bad rows are refused by file and line (the first 100), the rest stored."""
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise UnsupportedMediaType("send the result files as multipart/form-data")
    files: dict[str, bytes] = {}
    size = 0
    async with request.form(max_files=5) as form:
        for _, value in form.multi_items():
            if isinstance(value, UploadFile) and value.filename:
                data = await value.read(MAX_UPLOAD_BYTES + 1 - size)
                size += len(data)
                if size > MAX_UPLOAD_BYTES:
                    raise Unprocessable("the upload is over 50 MB", field="file")
                name = value.filename.rsplit("/", 1)[-1]
                files["lineItems.csv" if name.lower() == "lineitems.csv" else name] = data
    if not files:
        raise Unprocessable("no file in the upload", field="file")
    return await service.upload_results(session, district_id=principal.district_id, files=files)


@router.post("/analyses", status_code=status.HTTP_201_CREATED, response_model=AnalysisRead)
async def run_analysis(body: AnalysisCreate, session: SessionDep, principal: Manager) -> AnalysisRead:
    """Run an analysis of a tool's users (or a pilot's cohort) against a comparison group on one
    assessment: clustered regression with controls, Hedges' g, baseline equivalence, the minimum
    detectable effect and the ESSA tier it supports. Groups under 10 students are suppressed."""
    return await service.run_analysis(
        session, district_id=principal.district_id, data=body, created_by=principal.subject
    )


@router.get("/analyses", response_model=Page[AnalysisRead])
async def list_analyses(
    session: SessionDep,
    principal: Staff,
    page: PageDep,
    tool_id: uuid.UUID | None = Query(default=None, description="Only this tool's analyses."),
) -> Page[AnalysisRead]:
    """The district's analyses, newest first."""
    rows, total = await OutcomeRepository(session).list(
        district_id=principal.district_id,
        tool_id=str(tool_id) if tool_id else None,
        limit=page.limit,
        offset=page.offset,
    )
    return Page(items=[service.read(r) for r in rows], total=total, limit=page.limit, offset=page.offset)


@router.get("/analyses/{analysis_id}", response_model=AnalysisRead)
async def get_analysis(analysis_id: uuid.UUID, session: SessionDep, principal: Staff) -> AnalysisRead:
    """One analysis as it was run."""
    return service.read(
        await service.get_analysis(session, district_id=principal.district_id, analysis_id=analysis_id)
    )


@router.post("/analyses/{analysis_id}/evidence", response_model=AnalysisRead)
async def attach_evidence(
    analysis_id: uuid.UUID, session: SessionDep, principal: Manager, request: Request
) -> AnalysisRead:
    """Offer the analysis as the evidence of the tool's ESSA checklist point: the catalog records
    the tier it supports and the link to it."""
    return await service.attach_evidence(
        session,
        district_id=principal.district_id,
        analysis_id=analysis_id,
        link=f"{public_base(request)}/api/analytics/outcomes/analyses/{analysis_id}",
        attached_by=principal.subject,
    )
