"""Rules for observations: generating the schedule, recording an observation, time-on-task summaries,
and the watch on time-on-task.

When time-on-task "falls" (DOMAIN.md §1: "negative impact on instructional time triggers immediate
review"; §2: the technologist observes twice weekly, sampling time-on-task in 5-minute intervals):
a teacher's time-on-task in a pilot week (on-task samples / present samples over that week's
observations) is at least the district's `time_on_task_drop` (10 points by default) below the same
teacher's first observed week, the class's level when the tool came in. It is judged on every
observation recorded, with the week's observations so far, so the review is asked for at once; each
teacher's week raises it once (`time-on-task-fell`, which the catalog turns into a review flag
carrying this evidence).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession

from services.pilots.district_settings.schemas import PilotSettingsRead
from services.pilots.events import outbox
from services.pilots.models import Observation, ObservationSlot, TimeOnTaskFall
from services.pilots.observations.repository import ObservationRepository
from services.pilots.observations.schemas import (
    ObservationCreate,
    ObservationRead,
    ObservationSummary,
    TeacherSummary,
    TimeOnTask,
    WeekSummary,
)
from shared.auth import Principal
from shared.clock import clock_of
from shared.errors import Conflict, Unprocessable
from shared.events import TimeOnTaskFell, WeekOnTask

if TYPE_CHECKING:
    from services.pilots.models import Pilot

SCHOOL_DAYS_PER_WEEK = 5


def slot_dates(week_start: dt.date, per_week: int) -> list[dt.date]:
    """`per_week` school days spread over the week from `week_start` (2 -> 2nd and 4th)."""
    school_days = [d for d in (week_start + dt.timedelta(days=i) for i in range(7)) if d.weekday() < 5]
    per_week = max(1, min(per_week, SCHOOL_DAYS_PER_WEEK))
    return [school_days[int((i + 0.5) * SCHOOL_DAYS_PER_WEEK / per_week)] for i in range(per_week)]


def week_of(pilot: Pilot, day: dt.date) -> int:
    """The pilot week (1-based) `day` falls in."""
    return (day - pilot.start_date).days // 7 + 1


async def schedule_slots(
    session: AsyncSession, *, pilot: Pilot, teacher_ids: Sequence[str], per_week: int, weeks: Iterable[int]
) -> int:
    """Create each teacher's observation slots for the given pilot weeks; returns how many."""
    slots = [
        ObservationSlot(
            district_id=pilot.district_id, pilot_id=pilot.id, teacher_id=teacher, week=week, scheduled_on=day
        )
        for week in weeks
        for day in slot_dates(pilot.start_date + dt.timedelta(days=7 * (week - 1)), per_week)
        for teacher in teacher_ids
    ]
    await ObservationRepository(session).add_slots(slots)
    return len(slots)


def ratio(on_task: int, present: int) -> float | None:
    """on_task / present rounded to 4 places, None when nobody was present."""
    return round(on_task / present, 4) if present else None


def to_read(observation: Observation, slot_id: uuid.UUID | None) -> ObservationRead:
    """An observation as a response body."""
    picrat = None
    if observation.picrat_student and observation.picrat_teacher:
        picrat = {"student": observation.picrat_student, "teacher": observation.picrat_teacher}
    return ObservationRead.model_validate(
        {
            **{c.key: getattr(observation, c.key) for c in Observation.__table__.columns},
            "slot_id": slot_id,
            "picrat": picrat,
            "time_on_task": ratio(observation.on_task_total, observation.present_total),
        }
    )


async def record_observation(
    session: AsyncSession,
    *,
    principal: Principal,
    rules: PilotSettingsRead,
    pilot: Pilot,
    teacher_ids: Sequence[str],
    data: ObservationCreate,
) -> tuple[Observation, ObservationSlot | None]:
    """Record an observation of an active (or evaluating) pilot and fill the slot it belongs to."""
    if pilot.status not in ("active", "evaluating"):
        raise Conflict(
            f"observations are recorded in active pilots; this one is {pilot.status}",
            current_status=pilot.status,
        )
    if data.teacher_id not in teacher_ids:
        raise Unprocessable(f"teacher {data.teacher_id!r} is not in this pilot", field="teacher_id")
    if not pilot.start_date <= data.observed_on <= pilot.end_date:
        raise Unprocessable(
            f"{data.observed_on} is outside the pilot ({pilot.start_date} to {pilot.end_date})",
            field="observed_on",
        )
    week = week_of(pilot, data.observed_on)
    repo = ObservationRepository(session)
    slot = None
    if data.slot_id is not None:
        slot = await repo.get_slot(pilot_id=pilot.id, slot_id=data.slot_id)
        if slot is None or slot.teacher_id != data.teacher_id:
            raise Unprocessable("no such slot for this teacher in this pilot", field="slot_id")
        if slot.observation_id is not None:
            raise Conflict(f"slot {slot.id} already holds observation {slot.observation_id}")
    else:
        candidates = await repo.open_slots(pilot_id=pilot.id, teacher_id=data.teacher_id, week=week)
        same_day = [s for s in candidates if s.scheduled_on == data.observed_on]
        pool = same_day or list(candidates)
        slot = pool[0] if pool else None
    observation = await repo.add(
        Observation(
            district_id=pilot.district_id,
            pilot_id=pilot.id,
            teacher_id=data.teacher_id,
            observer=principal.subject,
            observed_on=data.observed_on,
            week=week,
            class_period=data.class_period,
            interval_minutes=rules.interval_minutes,
            intervals=[i.model_dump() for i in data.intervals],
            on_task_total=sum(i.on_task for i in data.intervals),
            present_total=sum(i.present for i in data.intervals),
            samr_level=data.samr_level,
            picrat_student=data.picrat.student if data.picrat else None,
            picrat_teacher=data.picrat.teacher if data.picrat else None,
            notes=data.notes,
        )
    )
    if slot is not None:
        slot.observation_id = observation.id
        await session.flush()
    await _watch_time_on_task(session, pilot=pilot, teacher_id=data.teacher_id, week=week, rules=rules)
    return observation, slot


def _week_on_task(week: int, rows: Sequence[Observation]) -> WeekOnTask | None:
    present = sum(o.present_total for o in rows)
    if present == 0:
        return None
    on_task = sum(o.on_task_total for o in rows)
    return WeekOnTask(
        week=week,
        observations=len(rows),
        on_task=on_task,
        present=present,
        time_on_task=round(on_task / present, 4),
    )


async def _watch_time_on_task(
    session: AsyncSession, *, pilot: Pilot, teacher_id: str, week: int, rules: PilotSettingsRead
) -> None:
    """Raise `time-on-task-fell` when this teacher's week fell (see the module's rule), once a week."""
    repo = ObservationRepository(session)
    rows, _ = await repo.list(district_id=pilot.district_id, pilot_id=pilot.id, teacher_id=teacher_id)
    by_week: dict[int, list[Observation]] = defaultdict(list)
    for o in rows:
        by_week[o.week].append(o)
    weeks = {w: t for w, obs in by_week.items() if (t := _week_on_task(w, obs)) is not None}
    if week not in weeks or min(weeks) == week:
        return
    baseline, observed = weeks[min(weeks)], weeks[week]
    drop = round(baseline.time_on_task - observed.time_on_task, 4)
    if drop < rules.time_on_task_drop or await repo.fall_recorded(
        pilot_id=pilot.id, teacher_id=teacher_id, week=week
    ):
        return
    now = clock_of(session).now()
    await repo.add_fall(
        TimeOnTaskFall(
            district_id=pilot.district_id,
            pilot_id=pilot.id,
            teacher_id=teacher_id,
            week=week,
            baseline_week=baseline.week,
            baseline=baseline.time_on_task,
            observed=observed.time_on_task,
            detected_at=now,
        )
    )
    await outbox.add(
        session,
        TimeOnTaskFell(
            tool_id=pilot.tool_id,
            pilot_id=pilot.id,
            teacher_id=teacher_id,
            baseline=baseline,
            observed=observed,
            drop=drop,
            threshold=rules.time_on_task_drop,
            observation_ids=[o.id for o in by_week[week]],
            detected_at=now,
        ),
        district_id=pilot.district_id,
    )


def _totals(rows: Sequence[Observation]) -> dict[str, int | float | None]:
    on_task = sum(o.on_task_total for o in rows)
    present = sum(o.present_total for o in rows)
    return {
        "observations": len(rows),
        "intervals": sum(len(o.intervals) for o in rows),
        "on_task": on_task,
        "present": present,
        "time_on_task": ratio(on_task, present),
    }


def summarize(observations: Sequence[Observation]) -> ObservationSummary:
    """Time-on-task (sum(on_task) / sum(present)) overall, per teacher, per week; SAMR, PICRAT."""
    by_teacher: dict[str, list[Observation]] = defaultdict(list)
    by_week: dict[int, list[Observation]] = defaultdict(list)
    for o in observations:
        by_teacher[o.teacher_id].append(o)
        by_week[o.week].append(o)
    return ObservationSummary(
        overall=TimeOnTask.model_validate(_totals(observations)),
        per_teacher=[
            TeacherSummary.model_validate({"teacher_id": t, **_totals(rows)})
            for t, rows in sorted(by_teacher.items())
        ],
        per_week=[
            WeekSummary.model_validate({"week": w, **_totals(rows)}) for w, rows in sorted(by_week.items())
        ],
        samr=dict(Counter(o.samr_level for o in observations if o.samr_level)),
        picrat=dict(
            Counter(
                f"{o.picrat_student}/{o.picrat_teacher}"
                for o in observations
                if o.picrat_student and o.picrat_teacher
            )
        ),
    )
