"""Signal rules: utilization-dropped, license-dormant and license-seats-used, each once per tool and window.

Windows are the district's terms (`rosters.terms`: its imported term/semester sessions, else
`evaluation_window_days` long windows anchored at its `window_anchor`); an evaluation judges the
last term that has ended by the service clock's today (`shared.clock`: the background job and the
endpoint alike; no caller chooses the day), once its usage is all counted: while an event of the window
(or before) waits in the counting queue, or the district is being recounted or regrouped, the window
waits for a later pass (`waiting_for_counting`), so no tool is judged on a window missing its last days.
A tool is judged only over a whole window it was in:

* utilization-dropped ("under 30% teacher utilization after one semester", DOMAIN.md §1): a tool
  `adopted` in the catalog, whose adoption day is on or before the window's first day, and whose
  license (if it has one) had started by then. `teacher_ids` are the teachers who used it in the window.
* license-dormant: a licensed tool, not retired or rejected, whose license covers the whole window.
* license-seats-used: for the same licenses, every window: the seats used, back to the catalog that
  owns the license (it shows them on the license).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from typing import TYPE_CHECKING

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from services.analytics.config import Settings
from services.analytics.counting.service import freshness
from services.analytics.dashboards.repository import DashboardRepository, Scope
from services.analytics.district.repository import DistrictRepository
from services.analytics.district.service import effective_settings
from services.analytics.events import outbox
from services.analytics.models import License
from services.analytics.rosters.terms import last_completed_term
from services.analytics.signals.repository import SignalRepository
from services.analytics.signals.schemas import EvaluationRead, SignalRead
from shared.clock import clock_of
from shared.events import EventPayload, LicenseDormant, LicenseSeatsUsed, UtilizationDropped
from shared.metrics import job_run
from shared.time_zones import local_date

if TYPE_CHECKING:
    from shared.service import ServiceRuntime

log = structlog.get_logger(__name__)

SKIPPED_STATUSES = frozenset({"retired", "rejected"})


def _covers(lic: License | None, window: tuple[dt.date, dt.date]) -> bool:
    """The license (when there is one) runs over the whole window."""
    if lic is None:
        return True
    return (lic.starts_on is None or lic.starts_on <= window[0]) and (
        lic.ends_on is None or lic.ends_on >= window[1]
    )


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


async def _counted_through(session: AsyncSession, *, district_id: str, day: dt.date) -> bool:
    """Whether the district's figures hold every event of `day` and before (none queued, no recount or
    regroup pending)."""
    if not (await freshness(session, district_id)).groups_current:
        return False
    return await SignalRepository(session).queued_through(district_id, day) == 0


async def evaluate(session: AsyncSession, *, district_id: str, defaults: Settings) -> EvaluationRead:
    """Judge the last window completed by the clock's today and publish the signals not yet published."""
    settings = await effective_settings(session, district_id=district_id, defaults=defaults)
    as_of = local_date(clock_of(session).now(), settings.time_zone)
    term = await last_completed_term(session, district_id=district_id, settings=settings, as_of=as_of)
    if term is None:
        return EvaluationRead(window_start=None, window_end=None, published=[])
    window = (term.start, term.end)
    if not await _counted_through(session, district_id=district_id, day=window[1]):
        return EvaluationRead(
            window_start=window[0], window_end=window[1], published=[], waiting_for_counting=True
        )
    repo = DashboardRepository(session)
    scope = Scope(district_id=district_id, start=window[0], end=window[1])
    states = await SignalRepository(session).tool_states(district_id)
    licenses = {x.tool_id: x for x in await DistrictRepository(session).licenses(district_id)}
    teachers = await repo.active_users(scope, teachers_only=True)
    users = await repo.active_users(scope)
    rostered = await repo.teacher_count(district_id, None)
    published: list[SignalRead] = []
    for tool in sorted(set(states) | set(licenses)):
        status, adopted_on = states.get(tool, ("", None))
        lic = licenses.get(tool)
        if status in SKIPPED_STATUSES or not _covers(lic, window):
            continue
        try:
            tool_uuid = uuid.UUID(tool)
        except ValueError:
            continue
        base = lic.teacher_seats if lic is not None and lic.teacher_seats is not None else rostered
        active = sorted(teachers.get(tool, set()))
        adopted_all_window = status == "adopted" and adopted_on is not None and adopted_on <= window[0]
        if adopted_all_window and base > 0 and len(active) / base < settings.utilization_threshold:
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
            sent = await _publish(
                session,
                district_id=district_id,
                signal="seats_used",
                tool_id=tool,
                window=window,
                value=min(used, lic.seats_purchased),
                payload=LicenseSeatsUsed(
                    tool_id=tool_uuid,
                    license_id=lic.license_id,
                    window_start=window[0],
                    window_end=window[1],
                    seats_purchased=lic.seats_purchased,
                    seats_used=min(used, lic.seats_purchased),
                    teachers_active=len(active),
                ),
            )
            if sent:
                published.append(sent)
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
            async with job_run(runtime.name, "signals"):
                async with runtime.db.transaction() as session:
                    districts = await SignalRepository(session).districts()
                for district_id in districts:
                    async with runtime.db.transaction() as session:
                        result = await evaluate(session, district_id=district_id, defaults=settings)
                    if result.published:
                        log.info("signals_published", district_id=district_id, count=len(result.published))
                    elif result.waiting_for_counting:
                        log.info("signals_wait_for_counting", district_id=district_id)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("signals_job_failed", error=repr(exc))
