"""Rules for surveys: standard instruments per district, scoring responses, TTIS deltas and TAM buy-in."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from statistics import fmean
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.pilots.district_settings.schemas import PilotSettingsRead
from services.pilots.events import outbox
from services.pilots.models import Instrument, InstrumentItem, Pilot, SurveyResponse
from services.pilots.surveys.repository import SurveyRepository
from services.pilots.surveys.schemas import (
    InstrumentCreate,
    InstrumentItemRead,
    InstrumentRead,
    InstrumentUpdate,
    SurveyResponseCreate,
    SurveyResults,
    TamDimension,
    TamResult,
    TtisResult,
    TtisTeacherDelta,
)
from services.pilots.surveys.standard import STANDARD_INSTRUMENTS, TAM, TTIS
from shared.auth import Principal
from shared.clock import clock_of
from shared.db import new_id, utcnow
from shared.errors import Conflict, NotFound, Unprocessable
from shared.events import TamAnswered, TamCount

OPEN_STATUSES = ("planned", "active", "evaluating")


def _r(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


async def _create(
    repo: SurveyRepository,
    *,
    district_id: str,
    definition: dict[str, Any],
    items: Sequence[tuple[str, str, str, bool]],
) -> bool:
    instrument_id = new_id()
    inserted = await repo.insert_instrument_if_absent(
        {
            "id": instrument_id,
            "district_id": district_id,
            "created_at": utcnow(),
            **{
                k: definition[k]
                for k in ("code", "name", "description", "scale_min", "scale_max", "scale_labels", "phases")
            },
        }
    )
    if inserted:
        await repo.add_items(
            [
                InstrumentItem(
                    instrument_id=instrument_id,
                    code=code,
                    dimension=dimension,
                    text=text,
                    position=i,
                    reverse_scored=reverse,
                )
                for i, (code, dimension, text, reverse) in enumerate(items)
            ]
        )
    return inserted


async def ensure_standard_instruments(session: AsyncSession, *, district_id: str) -> None:
    """Give the district the standard TTIS and TAM instruments the first time it needs them."""
    repo = SurveyRepository(session)
    for definition in STANDARD_INSTRUMENTS:
        if await repo.instrument(district_id=district_id, code=definition["code"]) is None:
            await _create(
                repo,
                district_id=district_id,
                definition=definition,
                items=[(c, k, t, False) for c, k, t in definition["items"]],
            )


async def create_instrument(session: AsyncSession, *, district_id: str, data: InstrumentCreate) -> Instrument:
    """Store a district's own instrument; 409 if its code is taken."""
    await ensure_standard_instruments(session, district_id=district_id)
    repo = SurveyRepository(session)
    inserted = await _create(
        repo,
        district_id=district_id,
        definition=data.model_dump(),
        items=[(i.code, i.dimension, i.text, i.reverse_scored) for i in data.items],
    )
    if not inserted:
        raise Conflict(f"the district already has an instrument with code {data.code!r}", field="code")
    return await get_instrument(session, district_id=district_id, code=data.code)


async def replace_instrument(
    session: AsyncSession, *, district_id: str, code: str, data: InstrumentUpdate
) -> Instrument:
    """Change an instrument's scale, phases and items while nobody has answered it (409 after)."""
    instrument = await get_instrument(session, district_id=district_id, code=code)
    repo = SurveyRepository(session)
    if await repo.has_responses(instrument_id=instrument.id):
        raise Conflict(f"{code} has been answered already; add a new instrument instead", field="code")
    for name in ("name", "description", "scale_min", "scale_max", "scale_labels", "phases"):
        setattr(instrument, name, getattr(data, name))
    await repo.delete_items(instrument_id=instrument.id)
    await repo.add_items(
        [
            InstrumentItem(
                instrument_id=instrument.id,
                code=i.code,
                dimension=i.dimension,
                text=i.text,
                position=n,
                reverse_scored=i.reverse_scored,
            )
            for n, i in enumerate(data.items)
        ]
    )
    return instrument


async def get_instrument(session: AsyncSession, *, district_id: str, code: str) -> Instrument:
    """A district's instrument by code (standard ones seeded on first use); 404 if unknown."""
    await ensure_standard_instruments(session, district_id=district_id)
    instrument = await SurveyRepository(session).instrument(district_id=district_id, code=code)
    if instrument is None:
        raise NotFound(f"no instrument {code!r} in this district")
    return instrument


def instrument_read(instrument: Instrument, items: Sequence[InstrumentItem]) -> InstrumentRead:
    """An instrument and its items as a response body."""
    return InstrumentRead(
        id=instrument.id,
        code=instrument.code,
        name=instrument.name,
        description=instrument.description,
        scale_min=instrument.scale_min,
        scale_max=instrument.scale_max,
        scale_labels=instrument.scale_labels,
        phases=instrument.phases,
        items=[InstrumentItemRead.model_validate(i) for i in items],
    )


def score(
    instrument: Instrument, items: Sequence[InstrumentItem], answers: dict[str, int]
) -> tuple[float, dict[str, float]]:
    """Mean of the item values (reverse-scored items flipped) overall and per dimension."""
    by_dimension: dict[str, list[int]] = defaultdict(list)
    for item in items:
        value = answers[item.code]
        if item.reverse_scored:
            value = instrument.scale_min + instrument.scale_max - value
        by_dimension[item.dimension].append(value)
    values = [v for vs in by_dimension.values() for v in vs]
    return round(fmean(values), 4), {c: round(fmean(vs), 4) for c, vs in by_dimension.items()}


async def submit_response(
    session: AsyncSession,
    *,
    principal: Principal,
    rules: PilotSettingsRead,
    pilot: Pilot,
    teacher_ids: Sequence[str],
    code: str,
    data: SurveyResponseCreate,
) -> tuple[SurveyResponse, Instrument]:
    """Store the calling teacher's own answers to every item of an instrument, with their scores."""
    if principal.subject not in teacher_ids:
        raise NotFound(f"pilot {pilot.id} not found")
    if pilot.status not in OPEN_STATUSES:
        raise Conflict(f"surveys of a {pilot.status} pilot are closed", current_status=pilot.status)
    instrument = await get_instrument(session, district_id=principal.district_id, code=code)
    if data.phase not in instrument.phases:
        raise Unprocessable(
            f"{code} is given in the phases {', '.join(instrument.phases)}, not {data.phase!r}", field="phase"
        )
    repo = SurveyRepository(session)
    items = (await repo.items(instrument_ids=[instrument.id]))[instrument.id]
    codes = {i.code for i in items}
    for key, value in data.answers.items():
        if key not in codes:
            raise Unprocessable(f"{code} has no item {key!r}", field=f"answers.{key}")
        if not instrument.scale_min <= value <= instrument.scale_max:
            raise Unprocessable(
                f"answers are on a {instrument.scale_min}-{instrument.scale_max} scale, got {value}",
                field=f"answers.{key}",
            )
    missing = [i.code for i in items if i.code not in data.answers]
    if missing:
        raise Unprocessable(
            f"every item needs an answer; missing: {', '.join(missing)}", field=f"answers.{missing[0]}"
        )
    if (
        await repo.response(
            pilot_id=pilot.id, instrument_id=instrument.id, teacher_id=principal.subject, phase=data.phase
        )
        is not None
    ):
        raise Conflict(f"you already answered the {data.phase} {code} survey of this pilot")
    total, dimensions = score(instrument, items, data.answers)
    response = await repo.add_response(
        SurveyResponse(
            district_id=principal.district_id,
            pilot_id=pilot.id,
            instrument_id=instrument.id,
            teacher_id=principal.subject,
            phase=data.phase,
            answers=data.answers,
            score=total,
            dimension_scores=dimensions,
            submitted_at=clock_of(session).now(),
        )
    )
    if instrument.code == TAM:
        counts = tam_counts(instrument, items, data.answers, threshold=rules.tam_positive_threshold)
        await outbox.add(
            session,
            TamAnswered(
                tool_id=pilot.tool_id,
                pilot_id=pilot.id,
                teacher_id=principal.subject,
                phase=data.phase,
                overall=TamCount(
                    answers=sum(n for n, _ in counts.values()), positive=sum(p for _, p in counts.values())
                ),
                dimensions={d: TamCount(answers=n, positive=p) for d, (n, p) in sorted(counts.items())},
                scale_min=instrument.scale_min,
                scale_max=instrument.scale_max,
                threshold=rules.tam_positive_threshold,
                buy_in_target=rules.buy_in_target,
                answered_at=response.submitted_at,
            ),
            district_id=principal.district_id,
        )
    return response, instrument


def ttis_result(responses: Sequence[SurveyResponse]) -> TtisResult:
    """TTIS pre and post per teacher, their deltas (post - pre), and the means."""
    by_teacher: dict[str, dict[str, SurveyResponse]] = defaultdict(dict)
    for r in responses:
        by_teacher[r.teacher_id][r.phase] = r
    teachers = []
    for teacher_id, phases in sorted(by_teacher.items()):
        pre, post = phases.get("pre"), phases.get("post")
        delta = round(post.score - pre.score, 4) if pre and post else None
        dimension_deltas = (
            {
                c: round(post.dimension_scores[c] - v, 4)
                for c, v in pre.dimension_scores.items()
                if c in post.dimension_scores
            }
            if pre and post
            else {}
        )
        teachers.append(
            TtisTeacherDelta(
                teacher_id=teacher_id,
                pre=pre.score if pre else None,
                post=post.score if post else None,
                delta=delta,
                dimension_deltas=dimension_deltas,
            )
        )
    pres = [t.pre for t in teachers if t.pre is not None]
    posts = [t.post for t in teachers if t.post is not None]
    deltas = [t.delta for t in teachers if t.delta is not None]
    return TtisResult(
        teachers=teachers,
        mean_pre=_r(fmean(pres)) if pres else None,
        mean_post=_r(fmean(posts)) if posts else None,
        mean_delta=_r(fmean(deltas)) if deltas else None,
    )


def _share(answers: int, positive: int) -> TamDimension:
    return TamDimension(
        answers=answers, positive=positive, share_positive=_r(positive / answers) if answers else None
    )


def tam_counts(
    instrument: Instrument, items: Sequence[InstrumentItem], answers: dict[str, int], *, threshold: int
) -> dict[str, list[int]]:
    """One response's TAM answers per dimension: [answers, positive] (reverse-scored items flipped); the
    one rule of buy-in, here and in analytics (which gets these counts by `tam-answered`)."""
    dimension_of = {i.code: i.dimension for i in items}
    reverse = {i.code for i in items if i.reverse_scored}
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for code, value in answers.items():
        if code not in dimension_of:
            continue
        if code in reverse:
            value = instrument.scale_min + instrument.scale_max - value
        counts[dimension_of[code]][0] += 1
        counts[dimension_of[code]][1] += int(value >= threshold)
    return counts


def tam_results(
    instrument: Instrument,
    items: Sequence[InstrumentItem],
    responses: Sequence[SurveyResponse],
    rules: PilotSettingsRead,
) -> list[TamResult]:
    """Per phase: the share of TAM answers at or above the district's threshold, per dimension and overall."""
    results = []
    for phase in instrument.phases:
        in_phase = [r for r in responses if r.phase == phase]
        if not in_phase:
            continue
        counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        for r in in_phase:
            for dimension, (n, p) in tam_counts(
                instrument, items, r.answers, threshold=rules.tam_positive_threshold
            ).items():
                counts[dimension][0] += n
                counts[dimension][1] += p
        answers = sum(n for n, _ in counts.values())
        positive = sum(p for _, p in counts.values())
        overall = _share(answers, positive)
        results.append(
            TamResult(
                phase=phase,
                respondents=len({r.teacher_id for r in in_phase}),
                threshold=rules.tam_positive_threshold,
                dimensions={c: _share(n, p) for c, (n, p) in sorted(counts.items())},
                overall=overall,
                buy_in_target=rules.buy_in_target,
                meets_target=None
                if overall.share_positive is None
                else overall.share_positive >= rules.buy_in_target,
            )
        )
    return results


async def results_for(
    session: AsyncSession, *, district_id: str, pilot: Pilot, rules: PilotSettingsRead
) -> SurveyResults:
    """The pilot's TTIS deltas and TAM acceptance."""
    ttis = await get_instrument(session, district_id=district_id, code=TTIS)
    tam = await get_instrument(session, district_id=district_id, code=TAM)
    repo = SurveyRepository(session)
    ttis_rows, _ = await repo.responses(district_id=district_id, pilot_id=pilot.id, instrument_id=ttis.id)
    tam_rows, _ = await repo.responses(district_id=district_id, pilot_id=pilot.id, instrument_id=tam.id)
    tam_items = (await repo.items(instrument_ids=[tam.id]))[tam.id]
    return SurveyResults(ttis=ttis_result(ttis_rows), tam=tam_results(tam, tam_items, tam_rows, rules))
