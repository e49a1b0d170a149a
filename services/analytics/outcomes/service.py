"""Outcome rules: achievement results in, dosage from usage, the analysis, and the evidence out.

- **Results in**: a CSV of our own (`student, assessment, date, score` and optionally `subject,
  scale, prior_score`) or OneRoster 1.2 gradebook files (`results.csv` with `lineItems.csv`: the
  line item's title is the assessment, `scoreDate` the day). Students are matched to the roster
  the way usage is (`identity`: sourcedId, SIS id, login, email); a row that matches nobody, or
  is malformed, is refused by file and line, and the rest is kept.
- **Dosage** is measured from the usage events already counted (the daily rollup), per student
  and tool over the window: days with any use, minutes in the tool (time-in-tool events), or
  logins. Usage is not dosage: each analysis says which measure it used and the threshold.
- **The students**: the district's rostered students with a result of the assessment dated on or
  after the window's start (the latest one is the outcome). Their prior score is the one the
  upload gave, else their latest result of the same assessment before the window. Grade and
  school come from the roster; the cluster is the class they take in the assessment's subject
  (else any class, else the school).
- **Groups**: a tool's users (dosage >= the threshold) against non-users (no use at all) or low
  users (under the threshold); or a pilot's cohort (the students of its classes) against the
  other students of the same grades, whatever they used (intention to treat).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
import uuid
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.analytics.events import outbox
from services.analytics.identity import keys
from services.analytics.identity.repository import IdentityRepository
from services.analytics.outcomes import MIN_CELL
from services.analytics.outcomes.models import OutcomeAnalysis
from services.analytics.outcomes.repository import OutcomeRepository
from services.analytics.outcomes.schemas import (
    MAX_ERRORS,
    AnalysisCreate,
    AnalysisRead,
    EstimateRead,
    GroupRead,
    ResultUploadRead,
)
from services.analytics.rosters.schemas import RowError
from services.analytics.rows import RowRejected, date_cell
from services.analytics.tools.service import check_tool
from shared.db import utcnow
from shared.errors import Conflict, NotFound, Unprocessable
from shared.events import OutcomeEvidenceAttached

if TYPE_CHECKING:  # pandas, statsmodels and scipy weigh ~140 MB: loaded when an analysis runs
    import pandas as pd

    from services.analytics.outcomes import statistics
from shared.validation import bad_text

OUR_COLUMNS = ("student", "assessment", "date", "score")
MAX_SCORE = 1e9
"""Scores beyond this are refused (no assessment scale comes near it)."""


def _number(row: dict[str, str], field: str, *, required: bool) -> float | None:
    text = (row.get(field) or "").strip()
    if not text:
        if required:
            raise RowRejected(field, f"{field} is required")
        return None
    try:
        value = float(text)
    except ValueError as exc:
        raise RowRejected(field, f"{field} {text!r} is not a number") from exc
    if not math.isfinite(value) or abs(value) > MAX_SCORE:
        raise RowRejected(field, f"{field} {text!r} is not a finite score")
    return value


def _text(row: dict[str, str], field: str, limit: int, *, required: bool = False) -> str | None:
    text = (row.get(field) or "").strip()
    if reason := bad_text(text):
        raise RowRejected(field, f"{field} {reason}")
    if not text:
        if required:
            raise RowRejected(field, f"{field} is required")
        return None
    if len(text) > limit:
        raise RowRejected(field, f"{field} is longer than {limit} characters")
    return text


def _rows(name: str, data: bytes) -> Iterator[tuple[int, dict[str, str]]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise Unprocessable(f"{name} is not UTF-8", field="file") from exc
    reader = csv.DictReader(io.StringIO(text))
    for row in reader:
        yield reader.line_num, row


def _student_keys(value: str) -> list[str]:
    found = keys.account_keys(value)
    return found + keys.email_keys(value) if "@" in value else found


class _Upload:
    def __init__(self, district_id: str) -> None:
        self.district_id = district_id
        self.rows: list[tuple[str, int, list[str], dict[str, Any]]] = []
        self.errors: list[RowError] = []
        self.rejected = 0

    def refuse(self, file: str, line: int, field: str, message: str) -> None:
        self.rejected += 1
        if len(self.errors) < MAX_ERRORS:
            self.errors.append(RowError(file=file, line=line, field=field, message=message))


def _our_csv(upload: _Upload, name: str, data: bytes) -> None:
    for line, row in _rows(name, data):
        try:
            student = _text(row, "student", 255, required=True) or ""
            values = {
                "assessment": _text(row, "assessment", 200, required=True),
                "administered_on": date_cell(row, "date"),
                "score": _number(row, "score", required=True),
                "prior_score": _number(row, "prior_score", required=False),
                "subject": _text(row, "subject", 100),
                "scale": _text(row, "scale", 100),
                "source": "csv",
            }
        except RowRejected as exc:
            upload.refuse(name, line, exc.field, str(exc))
            continue
        upload.rows.append((name, line, _student_keys(student), values))


def _oneroster(upload: _Upload, results: bytes, line_items: bytes) -> None:
    items: dict[str, dict[str, Any]] = {}
    for line, row in _rows("lineItems.csv", line_items):
        try:
            sourced_id = _text(row, "sourcedId", 255, required=True) or ""
            low, high = (
                _number(row, "resultValueMin", required=False),
                _number(row, "resultValueMax", required=False),
            )
            items[sourced_id] = {
                "assessment": _text(row, "title", 200, required=True),
                "scale": f"{low:g}-{high:g}" if low is not None and high is not None else None,
            }
        except RowRejected as exc:
            upload.refuse("lineItems.csv", line, exc.field, str(exc))
    for line, row in _rows("results.csv", results):
        try:
            if (row.get("status") or "").strip().lower() == "tobedeleted":
                continue
            item = items.get(_text(row, "lineItemSourcedId", 255, required=True) or "")
            if item is None:
                raise RowRejected("lineItemSourcedId", "the line item is not in lineItems.csv")
            student = _text(row, "studentSourcedId", 255, required=True) or ""
            values = {
                **item,
                "administered_on": date_cell(row, "scoreDate"),
                "score": _number(row, "score", required=True),
                "prior_score": None,
                "subject": None,
                "source": "oneroster",
            }
        except RowRejected as exc:
            upload.refuse("results.csv", line, exc.field, str(exc))
            continue
        upload.rows.append(("results.csv", line, [k for k in [keys.key("sourced", student)] if k], values))


async def upload_results(
    session: AsyncSession, *, district_id: str, files: dict[str, bytes]
) -> ResultUploadRead:
    """Store the results of an upload; refuse bad rows by file and line."""
    upload = _Upload(district_id)
    results = files.get("results.csv")
    if (
        results is not None
        and "lineItemSourcedId" in results[:4096].decode("utf-8", "replace").split("\n", 1)[0]
    ):
        if "lineItems.csv" not in files:
            raise Unprocessable("OneRoster results.csv needs its lineItems.csv", field="file")
        _oneroster(upload, results, files["lineItems.csv"])
    else:
        ours = [(n, d) for n, d in files.items() if n.lower().endswith(".csv") and n != "lineItems.csv"]
        if not ours:
            raise Unprocessable("send a CSV of results (student, assessment, date, score)", field="file")
        for name, data in ours:
            header = data[:4096].decode("utf-8-sig", "replace").split("\n", 1)[0]
            missing = [c for c in OUR_COLUMNS if c not in [h.strip() for h in header.split(",")]]
            if missing:
                raise Unprocessable(f"{name} lacks the column(s) {', '.join(missing)}", field="file")
            _our_csv(upload, name, data)
    wanted = {k for _, _, ks, _ in upload.rows for k in ks}
    known = await IdentityRepository(session).resolve(district_id, wanted) if wanted else {}
    stored: dict[tuple[str, str, dt.date], dict[str, Any]] = {}
    now = utcnow()
    for name, line, candidates, values in upload.rows:
        person = next((known[k] for k in candidates if k in known), None)
        if person is None:
            upload.refuse(name, line, "student", "no rostered person has this identifier")
            continue
        stored[(person, values["assessment"], values["administered_on"])] = {
            "district_id": district_id,
            "student_id": person,
            **values,
            "uploaded_at": now,
        }
    await OutcomeRepository(session).store_results(list(stored.values()))
    return ResultUploadRead(
        stored=len(stored),
        rejected=upload.rejected,
        errors=upload.errors,
        assessments=sorted({v["assessment"] for v in stored.values()}),
    )


async def student_table(
    session: AsyncSession, *, district_id: str, assessment: str, start: dt.date
) -> pd.DataFrame:
    """Every rostered student with the outcome, prior, grade, school and cluster (see the module)."""
    import pandas as pd

    repo = OutcomeRepository(session)
    outcome: dict[str, tuple[float, float | None, str | None]] = {}
    earlier: dict[str, float] = {}
    for student, day, score, prior, subject in await repo.results(
        district_id=district_id, assessment=assessment
    ):
        if day >= start:
            outcome[student] = (score, prior, subject)  # oldest first: the latest wins
        else:
            earlier[student] = score
    subject = next((s for _, _, s in outcome.values() if s), None)
    grades = await repo.grades(district_id)
    classes: dict[str, str] = {}
    for student, class_id, subjects in await repo.enrollments(district_id):
        if student not in classes or (subject and subject.lower() in (subjects or [])):
            classes[student] = class_id
    rows = []
    for student, school in await repo.students(district_id):
        score, prior, _ = outcome.get(student, (math.nan, None, None))
        rows.append(
            {
                "student": student,
                "outcome": score,
                "prior": prior if prior is not None else earlier.get(student, math.nan),
                "grade": grades.get(student, "unassigned"),
                "school": school or "unassigned",
                "cluster": classes.get(student) or f"school:{school}",
            }
        )
    return pd.DataFrame(rows, columns=["student", "outcome", "prior", "grade", "school", "cluster"])


def _group(frame: pd.DataFrame, eligible: pd.DataFrame, estimate: statistics.Group | None) -> GroupRead:
    small = len(frame) < MIN_CELL
    big_enough = len(eligible) >= MIN_CELL
    return GroupRead(
        students=None if small else len(frame),
        eligible=len(eligible) if big_enough else None,
        attrition=(1 - len(frame) / len(eligible)) if big_enough and not small else None,
        outcome_mean=estimate.outcome_mean if estimate else None,
        outcome_sd=estimate.outcome_sd if estimate else None,
        prior_mean=estimate.prior_mean if estimate else None,
        prior_sd=estimate.prior_sd if estimate else None,
        mean_dosage=None if small else float(frame["dosage"].mean()),
    )


async def run_analysis(
    session: AsyncSession, *, district_id: str, data: AnalysisCreate, created_by: str
) -> AnalysisRead:
    """Run and store an analysis (see the module for the groups; `statistics` for the figures)."""
    repo = OutcomeRepository(session)
    cohort = None
    if data.pilot_id is not None:
        cohort = await repo.cohort(district_id=district_id, pilot_id=data.pilot_id)
        if cohort is None:
            raise NotFound(f"pilot {data.pilot_id} is not known to analytics in this district")
        tool_id, start, end = cohort.tool_id, data.start or cohort.start_date, data.end or cohort.end_date
    else:
        assert data.tool_id is not None and data.start is not None and data.end is not None
        await check_tool(session, district_id=district_id, tool_id=data.tool_id)
        tool_id, start, end = str(data.tool_id), data.start, data.end
    students = await student_table(session, district_id=district_id, assessment=data.assessment, start=start)
    if students["outcome"].notna().sum() == 0:
        raise Unprocessable(
            f"no results of {data.assessment!r} dated on or after {start}", field="assessment"
        )
    dosage = await repo.dosage(
        district_id=district_id, tool_id=tool_id, start=start, end=end, measure=data.dosage
    )
    students["dosage"] = students["student"].map(dosage).fillna(0.0)
    tested_grades = set(students.loc[students["outcome"].notna(), "grade"])
    students = students[students["grade"].isin(tested_grades)]  # who could have been tested
    if cohort is not None:
        enrolled = {
            s
            for s, c in zip(students["student"], students["cluster"], strict=True)
            if c in set(cohort.classes)
        }
        students["treated"] = students["student"].isin(enrolled).astype(int)
    elif data.comparison == "non_users":
        students = students[(students["dosage"] >= data.min_dosage) | (students["dosage"] == 0)]
        students["treated"] = (students["dosage"] >= data.min_dosage).astype(int)
    else:
        students["treated"] = (students["dosage"] >= data.min_dosage).astype(int)
    from services.analytics.outcomes import statistics

    estimate = statistics.analyse(students)
    analysed = students[students["outcome"].notna()]
    groups = {
        t: _group(
            analysed[analysed["treated"] == t],
            students[students["treated"] == t],
            estimate.treated if t == 1 else estimate.comparison,
        )
        for t in (1, 0)
    }
    differential = None
    if groups[1].attrition is not None and groups[0].attrition is not None:
        differential = abs(groups[1].attrition - groups[0].attrition)
    figures = None
    if estimate.hedges_g is not None or estimate.finding != "suppressed":
        figures = EstimateRead(
            hedges_g=estimate.hedges_g,
            g_ci_low=estimate.g_ci_low,
            g_ci_high=estimate.g_ci_high,
            p_value=estimate.p_value,
            difference=estimate.difference,
            standard_error=estimate.standard_error,
            controls=estimate.controls,
            classes=estimate.classes,
            schools=estimate.schools,
            icc=estimate.icc,
            mde=estimate.mde,
            baseline_g=estimate.baseline_g,
            baseline=estimate.baseline,
        )
    result = {
        "finding": estimate.finding,
        "summary": estimate.summary,
        "tier": estimate.tier,
        "tier_reason": estimate.tier_reason,
        "treated": groups[1].model_dump(),
        "comparison_group": groups[0].model_dump(),
        "differential_attrition": differential,
        "estimate": figures.model_dump() if figures else None,
    }
    analysis = await repo.add(
        OutcomeAnalysis(
            district_id=district_id,
            tool_id=tool_id,
            pilot_id=data.pilot_id,
            assessment=data.assessment,
            window_start=start,
            window_end=end,
            request={"dosage": data.dosage, "min_dosage": data.min_dosage, "comparison": data.comparison},
            result=_finite(result),
            created_by=created_by,
        )
    )
    return read(analysis)


def _finite(value: Any) -> Any:
    """JSON-safe: NaN and infinities become null."""
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def read(analysis: OutcomeAnalysis) -> AnalysisRead:
    """An analysis as the API answers it."""
    return AnalysisRead(
        id=analysis.id,
        tool_id=analysis.tool_id,
        pilot_id=analysis.pilot_id,
        assessment=analysis.assessment,
        window_start=analysis.window_start,
        window_end=analysis.window_end,
        created_at=analysis.created_at,
        evidence_attached_at=analysis.evidence_attached_at,
        **analysis.request,
        **analysis.result,
    )


async def get_analysis(session: AsyncSession, *, district_id: str, analysis_id: uuid.UUID) -> OutcomeAnalysis:
    """A district's analysis; 404 otherwise."""
    found = await OutcomeRepository(session).get(district_id=district_id, analysis_id=analysis_id)
    if found is None:
        raise NotFound(f"analysis {analysis_id} not found")
    return found


async def attach_evidence(
    session: AsyncSession, *, district_id: str, analysis_id: uuid.UUID, link: str, attached_by: str
) -> AnalysisRead:
    """Offer an analysis as the evidence of the tool's ESSA checklist point (an event to the catalog)."""
    analysis = await get_analysis(session, district_id=district_id, analysis_id=analysis_id)
    if analysis.result["finding"] == "suppressed":
        raise Conflict("a suppressed analysis (too few students) cannot be evidence", field="analysis")
    analysis.evidence_attached_at = utcnow()
    await outbox.add(
        session,
        OutcomeEvidenceAttached(
            tool_id=uuid.UUID(analysis.tool_id),
            analysis_id=analysis.id,
            tier=analysis.result["tier"],
            finding=analysis.result["finding"],
            summary=analysis.result["summary"][:1000],
            link=link,
            attached_by=attached_by,
        ),
        district_id=district_id,
    )
    await session.flush()
    return read(analysis)
