"""Dashboard figures: logins, submissions, features, licenses, teachers, errors, the monthly report.

A range is split into its whole weeks (or months), read from the group counters, and the partial
periods at its edges, read from the per-user rollups; distinct active users over a range come from
the presence masks. A teacher's own classes always read the per-user rollups (few users).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.analytics.counting.schemas import Freshness
from services.analytics.counting.service import freshness
from services.analytics.dashboards.repository import DashboardRepository, Scope
from services.analytics.dashboards.schemas import (
    BuyIn,
    ErrorRow,
    FeatureCell,
    FeatureHeatmap,
    FeatureRow,
    LicenseReport,
    LicenseRow,
    LoginReport,
    LoginRow,
    MonthlyReport,
    QuarterBuyIn,
    SubmissionReport,
    SubmissionRow,
    TeacherReport,
    TeacherRow,
)
from services.analytics.district.repository import DistrictRepository
from services.analytics.district.schemas import DistrictSettingsRead
from services.analytics.models import TamResponse
from shared.time_zones import local_date

ACTIVE_STATUSES = frozenset({"piloting", "adopted", "sunsetting"})


async def _repo(session: AsyncSession) -> DashboardRepository:
    repo = DashboardRepository(session)
    await repo.tune()
    return repo


def _ratio(num: int, den: int) -> float | None:
    return round(num / den, 4) if den else None


def split(scope: Scope, period: str) -> tuple[tuple[dt.date, dt.date] | None, list[Scope]]:
    """The whole weeks/months inside the scope (first and last period start) and the partial edges."""
    day = dt.timedelta(days=1)
    if period == "week":
        first = scope.start + dt.timedelta(days=(7 - scope.start.weekday()) % 7)
        last_end = scope.end - dt.timedelta(days=(scope.end.weekday() + 1) % 7)
        last_start = last_end - dt.timedelta(days=6)
    else:
        first = (
            scope.start if scope.start.day == 1 else (scope.start.replace(day=28) + 4 * day).replace(day=1)
        )
        last_end = scope.end if (scope.end + day).day == 1 else scope.end.replace(day=1) - day
        last_start = last_end.replace(day=1)
    if scope.teacher_id is not None or first > last_end:
        return None, [scope]
    edges = []
    if scope.start < first:
        edges.append(replace(scope, end=first - day))
    if last_end < scope.end:
        edges.append(replace(scope, start=last_end + day))
    return (first, last_start), edges


async def _active(
    repo: DashboardRepository, scope: Scope, *, teachers_only: bool = False, dated: bool = True
) -> dict[str, int]:
    """Distinct active users (or teachers) per tool: presence masks, or a teacher's rollup rows."""
    if scope.teacher_id is None:
        return await repo.active_counts(scope, teachers_only=teachers_only, dated=dated)
    users = await repo.active_users(scope, teachers_only=teachers_only, dated=dated)
    return {tool: len(ids) for tool, ids in users.items()}


async def logins(
    session: AsyncSession, scope: Scope, *, period: str, group: str, fresh: Freshness | None = None
) -> LoginReport:
    """Login frequency per week or month by grade level or subject."""
    fresh = fresh or await freshness(session, scope.district_id)
    repo = await _repo(session)
    whole, edges = split(scope, period)
    rows: list[tuple[dt.date, str, int, int]] = []
    for edge in edges:
        rows.extend(
            (p, g, int(n), int(u)) for p, g, n, u in await repo.logins(edge, period=period, group=group)
        )
    if whole:
        counted = await repo.counts(
            scope, period=period, first=whole[0], last=whole[1], dim=group, kinds=("login",)
        )
        rows.extend((p, g, int(n), int(u)) for p, g, _, n, u in counted)
    rows.sort(key=lambda r: (r[0], r[1]))
    return LoginReport(
        freshness=fresh,
        start=scope.start,
        end=scope.end,
        period=period,
        group_by=group,
        rows=[
            LoginRow(
                period_start=p,
                group=g,
                logins=n,
                active_users=u,
                logins_per_user=round(n / u, 4) if u else 0.0,
            )
            for p, g, n, u in rows
        ],
    )


async def submissions(
    session: AsyncSession, scope: Scope, fresh: Freshness | None = None
) -> SubmissionReport:
    """Digital submission rates (submitted / started) against the paper baselines."""
    fresh = fresh or await freshness(session, scope.district_id)
    repo = await _repo(session)
    kinds = ("assignment_started", "assignment_submitted")
    baselines = {b.subject: b.rate for b in await DistrictRepository(session).baselines(scope.district_id)}

    def row(subject: str, counts: dict[str, int], baseline: float | None) -> SubmissionRow:
        started, submitted = counts.get(kinds[0], 0), counts.get(kinds[1], 0)
        rate = _ratio(submitted, started)
        diff = round(rate - baseline, 4) if rate is not None and baseline is not None else None
        return SubmissionRow(
            subject=subject,
            started=started,
            submitted=submitted,
            rate=rate,
            baseline_rate=baseline,
            difference=diff,
        )

    period = "month"  # whole months when the range is made of them, else whole weeks and edge days
    whole, edges = split(scope, period)
    if edges or whole is None:
        period = "week"
        whole, edges = split(scope, period)
    overall: dict[str, int] = {}
    per: dict[str, dict[str, int]] = {}
    for by_subject, totals in ((False, overall), (True, None)):
        found: list[Any] = []
        for edge in edges:
            found.extend(await repo.kind_totals(edge, kinds, by_subject=by_subject))
        if whole:
            dim = "subject" if by_subject else "all"
            found.extend(
                await repo.count_totals(
                    scope, period=period, first=whole[0], last=whole[1], dim=dim, kinds=kinds
                )
            )
        for subject, kind, n in found:
            target = totals if totals is not None else per.setdefault(subject, {})
            target[kind] = target.get(kind, 0) + int(n)
    return SubmissionReport(
        freshness=fresh,
        start=scope.start,
        end=scope.end,
        overall=row("all", overall, baselines.get("all")),
        by_subject=[row(s, c, baselines.get(s, baselines.get("all"))) for s, c in sorted(per.items())],
    )


def _weeks(start: dt.date, end: dt.date) -> list[dt.date]:
    week = start - dt.timedelta(days=start.weekday())
    out = []
    while week <= end:
        out.append(week)
        week += dt.timedelta(days=7)
    return out


async def features(session: AsyncSession, scope: Scope, fresh: Freshness | None = None) -> FeatureHeatmap:
    """Feature x week heatmap of events and distinct users."""
    fresh = fresh or await freshness(session, scope.district_id)
    weeks = _weeks(scope.start, scope.end)
    repo = await _repo(session)
    whole, edges = split(scope, "week")
    found: list[Any] = []
    for edge in edges:
        found.extend(await repo.features(edge))
    if whole:
        counted = await repo.counts(
            scope, period="week", first=whole[0], last=whole[1], dim="feature", kinds=("feature_used",)
        )
        found.extend((feature, week, n, users) for week, feature, _, n, users in counted)
    cells: dict[str, dict[dt.date, tuple[int, int]]] = {}
    for feature, week, n, users in found:
        cells.setdefault(feature, {})[week] = (int(n), int(users))
    return FeatureHeatmap(
        freshness=fresh,
        start=scope.start,
        end=scope.end,
        weeks=weeks,
        features=[
            FeatureRow(
                feature=f,
                total_events=sum(n for n, _ in by_week.values()),
                cells=[
                    FeatureCell(
                        week=w, events=by_week.get(w, (0, 0))[0], distinct_users=by_week.get(w, (0, 0))[1]
                    )
                    for w in weeks
                ],
            )
            for f, by_week in sorted(cells.items())
        ],
    )


async def licenses(session: AsyncSession, scope: Scope, fresh: Freshness | None = None) -> LicenseReport:
    """Active seats (distinct users of the tool in the window) vs seats bought, dormant seats and cost."""
    fresh = fresh or await freshness(session, scope.district_id)
    repo = await _repo(session)
    names = await repo.tools(scope.district_id)
    active = await _active(repo, replace(scope, school_id=None, teacher_id=None))
    rows = []
    for lic in await DistrictRepository(session).licenses(scope.district_id, scope.tool_id):
        used = active.get(lic.tool_id, 0)
        dormant = max(0, lic.seats_purchased - used)
        rows.append(
            LicenseRow(
                tool_id=lic.tool_id,
                tool_name=names.get(lic.tool_id, (None, None))[0],
                seats_purchased=lic.seats_purchased,
                seats_active=used,
                dormant_seats=dormant,
                utilization=_ratio(min(used, lic.seats_purchased), lic.seats_purchased),
                cost_per_seat=lic.cost_per_seat,
                total_cost=round(lic.seats_purchased * lic.cost_per_seat, 2),
                dormant_cost=round(dormant * lic.cost_per_seat, 2),
            )
        )
    return LicenseReport(
        freshness=fresh,
        start=scope.start,
        end=scope.end,
        licenses=rows,
        seats_purchased=sum(r.seats_purchased for r in rows),
        seats_active=sum(r.seats_active for r in rows),
        dormant_seats=sum(r.dormant_seats for r in rows),
        dormant_cost=round(sum(r.dormant_cost for r in rows), 2),
    )


def _share(responses: list[TamResponse]) -> tuple[int, int, int, float | None, float | None]:
    """(respondents, answers, positive, share, target) of each respondent's latest answer about each tool
    (responses oldest first): over one tool's answers, each teacher's latest; over several tools' (the
    district's), each teacher's latest about each of them. `respondents` counts teachers."""
    latest = {(r.tool_id, r.respondent_id): r for r in responses}
    answers = sum(r.answers for r in latest.values())
    positive = sum(r.positive for r in latest.values())
    target = responses[-1].buy_in_target if responses else None
    respondents = len({r.respondent_id for r in latest.values()})
    return respondents, answers, positive, _ratio(positive, answers), target


def _meets(share: float | None, target: float | None) -> bool | None:
    return None if share is None or target is None else share >= target


def school_quarter(day: dt.date, start_month: int) -> tuple[str, dt.date, dt.date]:
    """The quarter of the school year (starting in `start_month`) a day falls in: label, first, last day."""
    months = (day.year * 12 + day.month - 1) - (start_month - 1)
    year, index = divmod(months, 12)
    first_month = year * 12 + (start_month - 1) + (index // 3) * 3
    first = dt.date(first_month // 12, first_month % 12 + 1, 1)
    after = first_month + 3
    last = dt.date(after // 12, after % 12 + 1, 1) - dt.timedelta(days=1)
    return f"{year}-{(year + 1) % 100:02d} Q{index // 3 + 1}", first, last


def buy_in(responses: list[TamResponse], settings: DistrictSettingsRead) -> BuyIn:
    """TAM buy-in over the responses (oldest first) and per school-year quarter (in the district's days)."""
    respondents, answers, positive, share, target = _share(responses)
    by_quarter: dict[tuple[str, dt.date, dt.date], list[TamResponse]] = {}
    for r in responses:
        day = local_date(r.responded_at, settings.time_zone)
        by_quarter.setdefault(school_quarter(day, settings.school_year_start_month), []).append(r)
    quarters = []
    for (label, first, last), rows in sorted(by_quarter.items(), key=lambda kv: kv[0][1]):
        q_respondents, q_answers, q_positive, q_share, q_target = _share(rows)
        quarters.append(
            QuarterBuyIn(
                quarter=label,
                start=first,
                end=last,
                respondents=q_respondents,
                answers=q_answers,
                positive=q_positive,
                buy_in=q_share,
                target=q_target,
                meets_target=_meets(q_share, q_target),
            )
        )
    return BuyIn(
        respondents=respondents,
        answers=answers,
        positive=positive,
        buy_in=share,
        target=target,
        meets_target=_meets(share, target),
        quarters=quarters,
    )


def school_year_start(day: dt.date, start_month: int) -> dt.date:
    """The first day of the school year (starting in `start_month`) a day falls in."""
    return dt.date(day.year if day.month >= start_month else day.year - 1, start_month, 1)


async def district_buy_in(session: AsyncSession, scope: Scope, settings: DistrictSettingsRead) -> BuyIn:
    """The district's TAM buy-in from its school year's start through the scope's end, and per quarter of
    that school year (DOMAIN.md §2: 85% staff buy-in, measured quarterly): `buy_in` over every tool's
    answers (one tool's with `tool_id`). TAM answers carry no school: `school_id` does not narrow it."""
    first = school_year_start(scope.end, settings.school_year_start_month)
    responses = await DistrictRepository(session).tam_responses(
        scope.district_id,
        start=dt.datetime.combine(first, dt.time(), dt.UTC),
        end=dt.datetime.combine(scope.end + dt.timedelta(days=1), dt.time(), dt.UTC),
        tool_id=scope.tool_id,
    )
    return buy_in(list(responses), settings)


async def teachers(
    session: AsyncSession, scope: Scope, settings: DistrictSettingsRead, fresh: Freshness | None = None
) -> TeacherReport:
    """Per tool: active teachers / licensed (or rostered) teachers, adoption to date, TAM buy-in."""
    fresh = fresh or await freshness(session, scope.district_id)
    repo = await _repo(session)
    district = DistrictRepository(session)
    names = await repo.tools(scope.district_id)
    lic = {x.tool_id: x for x in await district.licenses(scope.district_id, scope.tool_id)}
    active = await _active(repo, scope, teachers_only=True)
    ever = await _active(repo, scope, teachers_only=True, dated=False)
    rostered = await repo.teacher_count(scope.district_id, scope.school_id)
    tools = {t for t, (_, status) in names.items() if status in ACTIVE_STATUSES} | set(lic) | set(active)
    if scope.tool_id:
        tools &= {scope.tool_id}
    start = dt.datetime.combine(scope.start, dt.time(), dt.UTC)
    end = dt.datetime.combine(scope.end + dt.timedelta(days=1), dt.time(), dt.UTC)
    tam: dict[str, list[TamResponse]] = {}
    for r in await district.tam_responses(scope.district_id, start=start, end=end, tool_id=scope.tool_id):
        tam.setdefault(r.tool_id, []).append(r)
    rows = []
    for tool in sorted(tools):
        seats = lic[tool].teacher_seats if tool in lic else None
        licensed = seats is not None and not scope.school_id
        base = seats if licensed and seats is not None else rostered
        n_active, n_ever = active.get(tool, 0), ever.get(tool, 0)
        utilization = _ratio(n_active, base)
        name, status = names.get(tool, (None, None))
        rows.append(
            TeacherRow(
                tool_id=tool,
                tool_name=name,
                status=status,
                teachers=base,
                teachers_basis="licensed" if licensed else "rostered",
                active_teachers=n_active,
                utilization=utilization,
                under_threshold=None if utilization is None else utilization < settings.utilization_threshold,
                adopted_teachers=n_ever,
                adoption_rate=_ratio(n_ever, base),
                tam=buy_in(tam.get(tool, []), settings),
            )
        )
    return TeacherReport(
        freshness=fresh,
        start=scope.start,
        end=scope.end,
        threshold=settings.utilization_threshold,
        tools=rows,
    )


async def errors(session: AsyncSession, scope: Scope) -> list[ErrorRow]:
    """Technical errors per tool, week and severity."""
    repo = await _repo(session)
    names = await repo.tools(scope.district_id)
    return [
        ErrorRow(tool_id=t, tool_name=names.get(t, (None, None))[0], week=w, severity=sev, errors=int(n))
        for t, w, sev, n in await repo.errors(scope)
    ]


async def monthly(
    session: AsyncSession, scope: Scope, settings: DistrictSettingsRead, *, month: str
) -> MonthlyReport:
    """Everything above for one calendar month."""
    fresh = await freshness(session, scope.district_id)  # once: every part is read after it
    return MonthlyReport(
        freshness=fresh,
        month=month,
        start=scope.start,
        end=scope.end,
        logins_by_grade=await logins(session, scope, period="month", group="grade", fresh=fresh),
        logins_by_subject=await logins(session, scope, period="month", group="subject", fresh=fresh),
        submissions=await submissions(session, scope, fresh),
        features=await features(session, scope, fresh),
        licenses=await licenses(session, scope, fresh),
        teachers=await teachers(session, scope, settings, fresh),
        buy_in=await district_buy_in(session, scope, settings),
        errors=await errors(session, scope),
    )
