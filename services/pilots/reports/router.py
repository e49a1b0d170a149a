"""HTTP routes for the pilot report and the rollout plan."""

from __future__ import annotations

import uuid

from fastapi import APIRouter

from services.pilots.api import AnalyticsHttpDep, RulesDep, Staff
from services.pilots.plans.service import get_pilot
from services.pilots.reports import service
from services.pilots.reports.schemas import PilotReport, RolloutPlan
from shared.api import SessionDep
from shared.clock import clock_of
from shared.time_zones import local_date
from shared.validation import Day

router = APIRouter(prefix="/pilots/{pilot_id}", tags=["reports"])


@router.get("/report", response_model=PilotReport)
async def pilot_report(
    pilot_id: uuid.UUID,
    session: SessionDep,
    principal: Staff,
    rules: RulesDep,
    analytics: AnalyticsHttpDep,
    as_of: Day | None = None,
) -> PilotReport:
    """The pilot report: time-on-task, TTIS deltas, TAM, error rate and patterns, usage, and the decision."""
    pilot = await get_pilot(session, principal=principal, pilot_id=pilot_id)
    return await service.build_report(
        session,
        principal=principal,
        rules=rules,
        pilot=pilot,
        analytics=analytics,
        today=as_of or local_date(clock_of(session).now(), rules.time_zone),
    )


@router.get("/rollout-plan", response_model=RolloutPlan)
async def rollout_plan(
    pilot_id: uuid.UUID, session: SessionDep, principal: Staff, rules: RulesDep
) -> RolloutPlan:
    """The three-year rollout plan of an adopted tool (early adopters, grade teams, all), buy-in gated."""
    pilot = await get_pilot(session, principal=principal, pilot_id=pilot_id)
    return await service.rollout_plan(session, rules=rules, pilot=pilot)
