"""Rules for error logs: who may log what, the `error-logged` event, and the recurring-period detector.

Errors are reported for any tool in use: in a running pilot (its page: the teacher must be one of the
pilot's), or for a tool piloting, adopted or sunsetting in the catalog (the tool's page, no pilot). Both
publish `error-logged` (`source: pilot`, the pilot's id or null), as an LMS's error reports do through
analytics (`source: lms`). A recurring period is looked for among the pilot's errors, or the tool's.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from collections.abc import Sequence

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from services.pilots.district_settings.schemas import PilotSettingsRead
from services.pilots.error_logs.repository import ErrorLogRepository
from services.pilots.error_logs.schemas import ErrorLogCreate, ErrorPattern
from services.pilots.events import outbox
from services.pilots.models import ErrorLog, Pilot
from services.pilots.plans.service import STAFF_ROLES
from services.pilots.tools.service import ensure_in_use
from shared.auth import Principal
from shared.clock import clock_of
from shared.errors import Conflict, Unprocessable
from shared.events import ErrorLogged
from shared.time_zones import local_date

FUTURE_TOLERANCE = dt.timedelta(minutes=10)


def detect_patterns(
    occurrences: Sequence[tuple[str, dt.datetime]],
    *,
    tool_id: uuid.UUID,
    min_days: int,
    window_days: int,
    time_zone: str,
) -> list[ErrorPattern]:
    """Class periods in which the tool failed on `min_days` distinct days within `window_days` days; the
    days are the district's (`time_zone`): two errors of one evening are one failing day.

    For each period the window with the most failing days is reported (the latest one on a tie).
    """
    by_period: dict[str, dict[dt.date, list[dt.datetime]]] = defaultdict(lambda: defaultdict(list))
    for period, at in occurrences:
        by_period[period][local_date(at, time_zone)].append(at)
    patterns = []
    for period, by_day in sorted(by_period.items()):
        days = sorted(by_day)
        best: list[dt.date] = []
        end = 0
        for start in range(len(days)):
            end = max(end, start)
            while end + 1 < len(days) and (days[end + 1] - days[start]).days < window_days:
                end += 1
            if end - start + 1 >= len(best):
                best = days[start : end + 1]
        if len(best) >= min_days:
            times = sorted(at for day in best for at in by_day[day])
            patterns.append(
                ErrorPattern(
                    tool_id=tool_id,
                    class_period=period,
                    days=best,
                    occurrences=len(times),
                    first_at=times[0],
                    last_at=times[-1],
                    window_days=window_days,
                    min_days=min_days,
                )
            )
    return patterns


async def patterns_for(
    session: AsyncSession, *, pilot: Pilot, rules: PilotSettingsRead, class_period: str | None = None
) -> list[ErrorPattern]:
    """The recurring-period patterns of a pilot's errors."""
    rows = await ErrorLogRepository(session).occurrences(
        district_id=pilot.district_id, tool_id=pilot.tool_id, pilot_id=pilot.id, class_period=class_period
    )
    return detect_patterns(
        rows,
        tool_id=pilot.tool_id,
        min_days=rules.error_pattern_days,
        window_days=rules.error_pattern_window_days,
        time_zone=rules.time_zone,
    )


async def log_error(
    session: AsyncSession,
    *,
    principal: Principal,
    rules: PilotSettingsRead,
    pilot: Pilot,
    teacher_ids: Sequence[str],
    data: ErrorLogCreate,
) -> tuple[ErrorLog, ErrorPattern | None]:
    """Store an error of a running pilot, publish `error-logged`, and say whether it now forms a pattern."""
    if pilot.status not in ("active", "evaluating"):
        raise Conflict(
            f"errors are logged in a pilot while it runs; this one is {pilot.status} (report errors of a "
            "tool in use on the tool: POST .../tools/{tool_id}/errors)",
            current_status=pilot.status,
        )
    teacher_id = _reporting_teacher(principal, data.teacher_id)
    if principal.has_any(*STAFF_ROLES) and teacher_id is not None and teacher_id not in teacher_ids:
        raise Unprocessable(f"teacher {teacher_id!r} is not in this pilot", field="teacher_id")
    return await _record(
        session,
        principal=principal,
        rules=rules,
        tool_id=pilot.tool_id,
        pilot=pilot,
        teacher_id=teacher_id,
        data=data,
    )


async def report_error(
    session: AsyncSession,
    *,
    principal: Principal,
    rules: PilotSettingsRead,
    tool_id: uuid.UUID,
    catalog: httpx.AsyncClient | None,
    data: ErrorLogCreate,
) -> tuple[ErrorLog, ErrorPattern | None]:
    """Store an error of a tool in use (no pilot), publish `error-logged`, say whether it forms a pattern."""
    tool = await ensure_in_use(session, principal=principal, tool_id=tool_id, catalog=catalog)
    teacher_id = _reporting_teacher(principal, data.teacher_id)
    return await _record(
        session,
        principal=principal,
        rules=rules,
        tool_id=tool.id,
        pilot=None,
        teacher_id=teacher_id,
        data=data,
    )


def _reporting_teacher(principal: Principal, teacher_id: str | None) -> str | None:
    """Whose class: a teacher reporting is always themselves; staff may name one."""
    if principal.has_any(*STAFF_ROLES):
        return teacher_id
    if teacher_id not in (None, principal.subject):
        raise Unprocessable("a teacher logs errors of their own classes only", field="teacher_id")
    return principal.subject


async def _record(
    session: AsyncSession,
    *,
    principal: Principal,
    rules: PilotSettingsRead,
    tool_id: uuid.UUID,
    pilot: Pilot | None,
    teacher_id: str | None,
    data: ErrorLogCreate,
) -> tuple[ErrorLog, ErrorPattern | None]:
    if data.occurred_at > clock_of(session).now() + FUTURE_TOLERANCE:
        raise Unprocessable("occurred_at is in the future", field="occurred_at")
    period = data.class_period.strip() if data.class_period and data.class_period.strip() else None
    log = await ErrorLogRepository(session).add(
        ErrorLog(
            district_id=principal.district_id,
            pilot_id=pilot.id if pilot else None,
            tool_id=tool_id,
            teacher_id=teacher_id,
            what_failed=data.what_failed,
            category=data.category,
            occurred_at=data.occurred_at,
            class_period=period,
            device=data.device,
            platform=data.platform,
            severity=data.severity,
            reported_by=principal.subject,
        )
    )
    await outbox.add(
        session,
        ErrorLogged(
            tool_id=tool_id,
            error_id=log.id,
            pilot_id=pilot.id if pilot else None,
            occurred_at=log.occurred_at,
            class_period=period,
            severity=data.severity,
            platform=" / ".join(p for p in (data.device, data.platform) if p) or None,
            category=data.category,
            description=data.what_failed,
            source="pilot",
        ),
        district_id=principal.district_id,
    )
    pattern = None
    if period is not None:
        day = local_date(log.occurred_at, rules.time_zone)
        rows = await ErrorLogRepository(session).occurrences(
            district_id=principal.district_id,
            tool_id=tool_id,
            pilot_id=pilot.id if pilot else None,
            class_period=period,
        )
        found = detect_patterns(
            rows,
            tool_id=tool_id,
            min_days=rules.error_pattern_days,
            window_days=rules.error_pattern_window_days,
            time_zone=rules.time_zone,
        )
        pattern = next((p for p in found if day in p.days), None)
    return log, pattern
