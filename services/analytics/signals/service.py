"""Signal rules: utilization-dropped and license-dormant, each once per tool and window.

Windows are the district's terms (`rosters.terms`: its imported term/semester sessions, else
`evaluation_window_days` long windows anchored at its `window_anchor`); an evaluation judges the
last term that has ended. A tool is judged when it is adopted in the catalog or has a license that
started before the window.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from typing import TYPE_CHECKING

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from services.analytics.config import Settings
from services.analytics.dashboards.repository import DashboardRepository, Scope
from services.analytics.district.repository import DistrictRepository
from services.analytics.district.service import effective_settings
from services.analytics.events import outbox
from services.analytics.rosters.terms import last_completed_term
from services.analytics.signals.repository import SignalRepository
from services.analytics.signals.schemas import EvaluationRead, SignalRead
from shared.events import EventPayload, LicenseDormant, UtilizationDropped

if TYPE_CHECKING:
    from shared.service import ServiceRuntime

log = structlog.get_logger(__name__)

JUDGED_STATUSES = frozenset({"adopted"})
SKIPPED_STATUSES = frozenset({"retired", "rejected"})


async def _publish(
    session: AsyncSession,
    *,
    district_id: str,
    signal: str,
    tool_id: str,
    window: tuple[dt.date, dt.date],
    value: float,
    payload: EventPayload,
) -> SignalRead | None:
    repo = SignalRepository(session)
    if not await repo.claim(
        district_id=district_id,
        tool_id=tool_id,
        signal=signal,
        window_start=window[0],
        window_end=window[1],
        value=value,
    ):
        return None
    event = await outbox.add(session, payload, district_id=district_id)
    await repo.set_event_id(
        district_id=district_id, tool_id=tool_id, signal=signal, window_start=window[0], event_id=event.id
    )
    return SignalRead(
        signal=signal,
        tool_id=tool_id,
        window_start=window[0],
        window_end=window[1],
        value=value,
        event_id=event.id,
    )


async def evaluate(
    session: AsyncSession, *, district_id: str, as_of: dt.date, defaults: Settings
) -> EvaluationRead:
    """Judge the last completed window and publish the signals not yet published for it."""
    settings = await effective_settings(session, district_id=district_id, defaults=defaults)
    term = await last_completed_term(session, district_id=district_id, settings=settings, as_of=as_of)
    if term is None:
        return EvaluationRead(window_start=None, window_end=None, published=[])
    window = (term.start, term.end)
    repo = DashboardRepository(session)
    scope = Scope(district_id=district_id, start=window[0], end=window[1])
    names = await repo.tools(district_id)
    licenses = {x.tool_id: x for x in await DistrictRepository(session).licenses(district_id)}
    teachers = await repo.active_users(scope, teachers_only=True)
    users = await repo.active_users(scope)
    rostered = await repo.teacher_count(district_id, None)
    candidates = {t for t, (_, st) in names.items() if st in JUDGED_STATUSES} | set(licenses)
    published: list[SignalRead] = []
    for tool in sorted(candidates):
        lic = licenses.get(tool)
        if names.get(tool, ("", ""))[1] in SKIPPED_STATUSES or (
            lic and lic.starts_on and lic.starts_on > window[0]
        ):
            continue
        try:
            tool_uuid = uuid.UUID(tool)
        except ValueError:
            continue
        base = lic.teacher_seats if lic is not None and lic.teacher_seats is not None else rostered
        active = sorted(teachers.get(tool, set()))
        if base > 0 and len(active) / base < settings.utilization_threshold:
            share = round(len(active) / base, 4)
            sent = await _publish(
                session,
                district_id=district_id,
                signal="utilization_dropped",
                tool_id=tool,
                window=window,
                value=share,
                payload=UtilizationDropped(
                    tool_id=tool_uuid,
                    window_start=window[0],
                    window_end=window[1],
                    utilization=min(share, 1.0),
                    threshold=settings.utilization_threshold,
                    active_teachers=len(active),
                    licensed_teachers=base,
                    teacher_ids=active,
                ),
            )
            if sent:
                published.append(sent)
        if lic is not None and lic.seats_purchased > 0:
            used = len(users.get(tool, ()))
            dormant = max(0, lic.seats_purchased - used)
            if dormant and dormant / lic.seats_purchased > settings.dormant_share_threshold:
                sent = await _publish(
                    session,
                    district_id=district_id,
                    signal="license_dormant",
                    tool_id=tool,
                    window=window,
                    value=dormant,
                    payload=LicenseDormant(
                        tool_id=tool_uuid,
                        license_id=lic.license_id,
                        window_start=window[0],
                        window_end=window[1],
                        seats_purchased=lic.seats_purchased,
                        seats_active=min(used, lic.seats_purchased),
                        dormant_seats=dormant,
                        dormant_cost=round(dormant * lic.cost_per_seat, 2),
                    ),
                )
                if sent:
                    published.append(sent)
    return EvaluationRead(window_start=window[0], window_end=window[1], published=published)


async def signals_job(runtime: ServiceRuntime) -> None:
    """Background job: evaluate every district periodically (each district in its own transaction)."""
    settings = runtime.settings
    assert isinstance(settings, Settings)
    while True:
        await asyncio.sleep(settings.signals_interval_s)
        try:
            async with runtime.db.transaction() as session:
                districts = await SignalRepository(session).districts()
            for district_id in districts:
                async with runtime.db.transaction() as session:
                    result = await evaluate(
                        session,
                        district_id=district_id,
                        as_of=dt.datetime.now(dt.UTC).date(),
                        defaults=settings,
                    )
                if result.published:
                    log.info("signals_published", district_id=district_id, count=len(result.published))
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("signals_job_failed", error=repr(exc))
