"""The pilot report and the rollout plan, assembled from the other areas' results."""

from __future__ import annotations

import datetime as dt
import uuid
from collections import Counter
from typing import Any

import httpx
import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from services.pilots.district_settings.schemas import PilotSettingsRead
from services.pilots.error_logs.repository import ErrorLogRepository
from services.pilots.error_logs.service import patterns_for
from services.pilots.models import Pilot
from services.pilots.observations.repository import ObservationRepository
from services.pilots.observations.service import ratio, summarize
from services.pilots.plans.service import teacher_ids_of, to_read
from services.pilots.reports.schemas import DecisionRead, ErrorSummary, PilotReport, RolloutPhase, RolloutPlan
from services.pilots.surveys.service import results_for
from shared.auth import Principal
from shared.clock import clock_of
from shared.errors import Conflict
from shared.time_zones import local_date

log = structlog.get_logger(__name__)

PHASES = (
    ("early_adopters", "volunteer early adopters, starting with the pilot's teachers"),
    ("grade_level_teams", "grade-level teams of the early adopters' schools"),
    ("full_rollout", "every teacher of the district in the tool's subjects and grades"),
)


async def fetch_usage(
    analytics: httpx.AsyncClient | None, *, principal: Principal, pilot_id: uuid.UUID
) -> dict[str, Any] | None:
    """The pilot's usage from analytics, or None when analytics is absent, down or has nothing."""
    if analytics is None:
        return None
    try:
        response = await analytics.get(
            f"/api/analytics/pilots/{pilot_id}/usage", headers={"Authorization": f"Bearer {principal.token}"}
        )
        if response.status_code != 200:
            log.info("analytics_usage_unavailable", pilot_id=str(pilot_id), status=response.status_code)
            return None
        body = response.json()
    except (httpx.HTTPError, ValueError) as exc:
        log.warning("analytics_unreachable", pilot_id=str(pilot_id), error=repr(exc))
        return None
    return body if isinstance(body, dict) else None


async def build_report(
    session: AsyncSession,
    *,
    principal: Principal,
    rules: PilotSettingsRead,
    pilot: Pilot,
    analytics: httpx.AsyncClient | None,
    today: dt.date,
) -> PilotReport:
    """Gather the pilot's evidence (time-on-task, TTIS, TAM, errors, usage) and its decision."""
    district_id = pilot.district_id
    observations, _ = await ObservationRepository(session).list(
        district_id=district_id, pilot_id=pilot.id, teacher_id=None
    )
    _, counts = await ObservationRepository(session).slots(
        district_id=district_id,
        pilot_id=pilot.id,
        teacher_id=None,
        status=None,
        today=today,
        limit=1,
        offset=0,
    )
    surveys = await results_for(session, district_id=district_id, pilot=pilot, rules=rules)
    errors = ErrorLogRepository(session)
    logged = await errors.count(district_id=district_id, pilot_id=pilot.id)
    severities = await errors.severities(district_id=district_id, pilot_id=pilot.id)
    decision = None
    if pilot.decision is not None:
        decision = DecisionRead(
            decision=pilot.decision,
            rationale=pilot.rationale,
            decided_at=pilot.decided_at,
            decided_by=pilot.decided_by,
        )
    return PilotReport(
        pilot=to_read(pilot, await teacher_ids_of(session, pilot=pilot)),
        generated_at=clock_of(session).now(),
        schedule={s: counts.get(s, 0) for s in ("done", "due", "missed")},
        time_on_task=summarize(observations),
        ttis=surveys.ttis,
        tam=surveys.tam,
        errors=ErrorSummary(
            logged=logged,
            by_severity=dict(Counter(severities)),
            observed_sessions=len(observations),
            rate_per_observed_session=ratio(logged, len(observations)),
            patterns=await patterns_for(session, pilot=pilot, rules=rules),
        ),
        usage=await fetch_usage(analytics, principal=principal, pilot_id=pilot.id),
        decision=decision,
    )


def _add_years(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


async def rollout_plan(session: AsyncSession, *, rules: PilotSettingsRead, pilot: Pilot) -> RolloutPlan:
    """The three-year plan of an adopted pilot's tool: each phase gated on quarterly buy-in."""
    if pilot.status != "decided" or pilot.decision != "adopt":
        raise Conflict(
            "a rollout plan follows an `adopt` decision; this pilot is "
            f"{pilot.status}{' (' + pilot.decision + ')' if pilot.decision else ''}",
            current_status=pilot.status,
        )
    start = local_date(pilot.decided_at or clock_of(session).now(), rules.time_zone)
    phases = []
    for i, (name, audience) in enumerate(PHASES):
        starts_on = _add_years(start, i)
        ends_on = _add_years(start, i + 1) - dt.timedelta(days=1)
        phases.append(
            RolloutPhase(
                year=i + 1,
                name=name,
                audience=audience,
                teachers=rules.early_adopters if i == 0 else None,
                starts_on=starts_on,
                ends_on=ends_on,
                buy_in_target=rules.buy_in_target,
                checkpoints=[starts_on + dt.timedelta(days=91 * q) for q in range(1, 5)],
            )
        )
    surveys = await results_for(session, district_id=pilot.district_id, pilot=pilot, rules=rules)
    latest = surveys.tam[-1] if surveys.tam else None
    current = latest.overall.share_positive if latest else None
    return RolloutPlan(
        pilot_id=pilot.id,
        tool_id=pilot.tool_id,
        seed_teachers=await teacher_ids_of(session, pilot=pilot),
        buy_in_target=rules.buy_in_target,
        current_buy_in=current,
        meets_target=None if current is None else current >= rules.buy_in_target,
        phases=phases,
    )
