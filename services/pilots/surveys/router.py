"""HTTP routes for survey instruments, responses and results."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, status

from services.pilots.api import Planner, Reader, Respondent, RulesDep, Staff
from services.pilots.models import SurveyResponse
from services.pilots.plans.service import get_pilot, teacher_ids_of, visible_teacher
from services.pilots.surveys import service
from services.pilots.surveys.repository import SurveyRepository
from services.pilots.surveys.schemas import (
    InstrumentCreate,
    InstrumentRead,
    InstrumentUpdate,
    SurveyResponseCreate,
    SurveyResponseRead,
    SurveyResults,
)
from shared.api import Page, PageDep, SessionDep

router = APIRouter(tags=["surveys"])


def _response_read(response: SurveyResponse, code: str) -> SurveyResponseRead:
    return SurveyResponseRead(
        id=response.id,
        pilot_id=response.pilot_id,
        instrument_code=code,
        teacher_id=response.teacher_id,
        phase=response.phase,
        answers=response.answers,
        score=response.score,
        dimension_scores=response.dimension_scores,
        submitted_at=response.submitted_at,
    )


@router.get("/instruments", response_model=Page[InstrumentRead])
async def list_instruments(session: SessionDep, principal: Reader, page: PageDep) -> Page[InstrumentRead]:
    """The district's survey instruments with their items (TTIS and TAM to start with)."""
    await service.ensure_standard_instruments(session, district_id=principal.district_id)
    repo = SurveyRepository(session)
    rows, total = await repo.instruments(
        district_id=principal.district_id, limit=page.limit, offset=page.offset
    )
    items = await repo.items(instrument_ids=[i.id for i in rows])
    return Page(
        items=[service.instrument_read(i, items.get(i.id, [])) for i in rows],
        total=total,
        limit=page.limit,
        offset=page.offset,
    )


@router.post("/instruments", status_code=status.HTTP_201_CREATED, response_model=InstrumentRead)
async def create_instrument(
    body: InstrumentCreate, session: SessionDep, principal: Planner
) -> InstrumentRead:
    """Add a district instrument (scale, phases, items by dimension)."""
    instrument = await service.create_instrument(session, district_id=principal.district_id, data=body)
    items = await SurveyRepository(session).items(instrument_ids=[instrument.id])
    return service.instrument_read(instrument, items.get(instrument.id, []))


@router.get("/instruments/{code}", response_model=InstrumentRead)
async def get_instrument(code: str, session: SessionDep, principal: Reader) -> InstrumentRead:
    """One instrument of the district with its items."""
    instrument = await service.get_instrument(session, district_id=principal.district_id, code=code)
    items = await SurveyRepository(session).items(instrument_ids=[instrument.id])
    return service.instrument_read(instrument, items.get(instrument.id, []))


@router.put("/instruments/{code}", response_model=InstrumentRead)
async def replace_instrument(
    code: str, body: InstrumentUpdate, session: SessionDep, principal: Planner
) -> InstrumentRead:
    """Change an instrument's scale, phases and items (TTIS and TAM included) until someone answers it."""
    instrument = await service.replace_instrument(
        session, district_id=principal.district_id, code=code, data=body
    )
    items = await SurveyRepository(session).items(instrument_ids=[instrument.id])
    return service.instrument_read(instrument, items.get(instrument.id, []))


@router.post(
    "/pilots/{pilot_id}/surveys/{code}/responses",
    status_code=status.HTTP_201_CREATED,
    response_model=SurveyResponseRead,
)
async def submit_response(
    pilot_id: uuid.UUID,
    code: str,
    body: SurveyResponseCreate,
    session: SessionDep,
    principal: Respondent,
    rules: RulesDep,
) -> SurveyResponseRead:
    """Answer one of your own surveys of a pilot you take part in (e.g. TTIS `pre`); a TAM answer is
    published (`tam-answered`) for the district's buy-in figures."""
    pilot = await get_pilot(session, principal=principal, pilot_id=pilot_id)
    response, instrument = await service.submit_response(
        session,
        principal=principal,
        rules=rules,
        pilot=pilot,
        teacher_ids=await teacher_ids_of(session, pilot=pilot),
        code=code,
        data=body,
    )
    return _response_read(response, instrument.code)


@router.get("/pilots/{pilot_id}/surveys/responses", response_model=Page[SurveyResponseRead])
async def list_responses(
    pilot_id: uuid.UUID,
    session: SessionDep,
    principal: Reader,
    page: PageDep,
    instrument: str | None = None,
    phase: str | None = None,
    teacher_id: str | None = None,
) -> Page[SurveyResponseRead]:
    """The pilot's survey responses (a teacher sees their own)."""
    pilot = await get_pilot(session, principal=principal, pilot_id=pilot_id)
    instrument_id = None
    if instrument:
        instrument_id = (
            await service.get_instrument(session, district_id=principal.district_id, code=instrument)
        ).id
    repo = SurveyRepository(session)
    rows, total = await repo.responses(
        district_id=principal.district_id,
        pilot_id=pilot.id,
        instrument_id=instrument_id,
        phase=phase,
        teacher_id=visible_teacher(principal, teacher_id),
        limit=page.limit,
        offset=page.offset,
    )
    codes = await repo.instrument_codes(instrument_ids=list({r.instrument_id for r in rows}))
    return Page(
        items=[_response_read(r, codes[r.instrument_id]) for r in rows],
        total=total,
        limit=page.limit,
        offset=page.offset,
    )


@router.get("/pilots/{pilot_id}/surveys/results", response_model=SurveyResults)
async def survey_results(
    pilot_id: uuid.UUID, session: SessionDep, principal: Staff, rules: RulesDep
) -> SurveyResults:
    """TTIS pre/post deltas per teacher and on average; TAM share of positive answers per dimension."""
    pilot = await get_pilot(session, principal=principal, pilot_id=pilot_id)
    return await service.results_for(session, district_id=principal.district_id, pilot=pilot, rules=rules)
