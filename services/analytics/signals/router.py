"""HTTP routes for utilization and license signals."""

from __future__ import annotations

from fastapi import APIRouter

from services.analytics.deps import Manager, SettingsDep
from services.analytics.signals import service
from services.analytics.signals.repository import SignalRepository
from services.analytics.signals.schemas import EvaluationRead, SignalRead
from shared.api import Page, PageDep, SessionDep

router = APIRouter(prefix="/signals", tags=["signals"])


@router.post("/evaluate", response_model=EvaluationRead)
async def evaluate(session: SessionDep, principal: Manager, defaults: SettingsDep) -> EvaluationRead:
    """Evaluate the district now, as the background job does: the last window that has ended is judged
    and each signal published once per tool and window."""
    return await service.evaluate(session, district_id=principal.district_id, defaults=defaults)


@router.get("", response_model=Page[SignalRead])
async def list_signals(session: SessionDep, principal: Manager, page: PageDep) -> Page[SignalRead]:
    """Signals published for the district, newest first."""
    rows, total = await SignalRepository(session).list(
        district_id=principal.district_id, limit=page.limit, offset=page.offset
    )
    return Page(
        items=[SignalRead.model_validate(r) for r in rows], total=total, limit=page.limit, offset=page.offset
    )
