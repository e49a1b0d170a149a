"""HTTP routes for a pilot's technical error logs and their recurring patterns."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, status

from services.pilots.api import CatalogHttpDep, ErrorReporter, Reader, RulesDep
from services.pilots.error_logs import service
from services.pilots.error_logs.repository import ErrorLogRepository
from services.pilots.error_logs.schemas import (
    ErrorLogCreate,
    ErrorLogCreated,
    ErrorLogRead,
    ErrorPatternReport,
)
from services.pilots.plans.service import get_pilot, teacher_ids_of, visible_teacher
from shared.api import Page, PageDep, SessionDep
from shared.events.contracts import Severity

router = APIRouter(tags=["errors"])


@router.post("/pilots/{pilot_id}/errors", status_code=status.HTTP_201_CREATED, response_model=ErrorLogCreated)
async def log_error(
    pilot_id: uuid.UUID, body: ErrorLogCreate, session: SessionDep, principal: ErrorReporter, rules: RulesDep
) -> ErrorLogCreated:
    """Log a technical failure in a running pilot (publishes `error-logged`); answers with its recurring
    pattern, if any."""
    pilot = await get_pilot(session, principal=principal, pilot_id=pilot_id)
    log, pattern = await service.log_error(
        session,
        principal=principal,
        rules=rules,
        pilot=pilot,
        teacher_ids=await teacher_ids_of(session, pilot=pilot),
        data=body,
    )
    return ErrorLogCreated.model_validate(
        {**ErrorLogRead.model_validate(log).model_dump(), "pattern": pattern}
    )


@router.get("/pilots/{pilot_id}/errors", response_model=Page[ErrorLogRead])
async def list_errors(
    pilot_id: uuid.UUID,
    session: SessionDep,
    principal: Reader,
    page: PageDep,
    teacher_id: str | None = None,
    severity: Severity | None = None,
) -> Page[ErrorLogRead]:
    """The pilot's error logs, newest first (a teacher sees those of their own classes)."""
    pilot = await get_pilot(session, principal=principal, pilot_id=pilot_id)
    rows, total = await ErrorLogRepository(session).page(
        district_id=principal.district_id,
        pilot_id=pilot.id,
        teacher_id=visible_teacher(principal, teacher_id),
        severity=severity,
        limit=page.limit,
        offset=page.offset,
    )
    return Page(
        items=[ErrorLogRead.model_validate(r) for r in rows],
        total=total,
        limit=page.limit,
        offset=page.offset,
    )


@router.get("/pilots/{pilot_id}/error-patterns", response_model=ErrorPatternReport)
async def error_patterns(
    pilot_id: uuid.UUID, session: SessionDep, principal: Reader, rules: RulesDep
) -> ErrorPatternReport:
    """Class periods where the tool failed on several days within the window (3 days in 7 by default)."""
    pilot = await get_pilot(session, principal=principal, pilot_id=pilot_id)
    return ErrorPatternReport(
        min_days=rules.error_pattern_days,
        window_days=rules.error_pattern_window_days,
        patterns=await service.patterns_for(session, pilot=pilot, rules=rules),
    )


@router.post("/tools/{tool_id}/errors", status_code=status.HTTP_201_CREATED, response_model=ErrorLogCreated)
async def report_error(
    tool_id: uuid.UUID,
    body: ErrorLogCreate,
    session: SessionDep,
    principal: ErrorReporter,
    rules: RulesDep,
    catalog: CatalogHttpDep,
) -> ErrorLogCreated:
    """Report a technical failure of a tool in use (piloting, adopted or sunsetting), in or out of a pilot
    (publishes `error-logged`); answers with its recurring pattern among the tool's errors, if any."""
    log, pattern = await service.report_error(
        session, principal=principal, rules=rules, tool_id=tool_id, catalog=catalog, data=body
    )
    return ErrorLogCreated.model_validate(
        {**ErrorLogRead.model_validate(log).model_dump(), "pattern": pattern}
    )


@router.get("/tools/{tool_id}/errors", response_model=Page[ErrorLogRead])
async def list_tool_errors(
    tool_id: uuid.UUID,
    session: SessionDep,
    principal: Reader,
    page: PageDep,
    teacher_id: str | None = None,
    severity: Severity | None = None,
) -> Page[ErrorLogRead]:
    """Every error reported for the tool (in pilots or not), newest first (a teacher sees their own)."""
    rows, total = await ErrorLogRepository(session).page(
        district_id=principal.district_id,
        tool_id=tool_id,
        teacher_id=visible_teacher(principal, teacher_id),
        severity=severity,
        limit=page.limit,
        offset=page.offset,
    )
    return Page(
        items=[ErrorLogRead.model_validate(r) for r in rows],
        total=total,
        limit=page.limit,
        offset=page.offset,
    )
