"""The pages' routes under /app/: the monthly dashboard (admin, edtech), the pipeline (edtech), the
pilots (edtech, specialist; a teacher their own), their CSV exports and their static assets."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from services.gateway.pages import dashboard, pilot, pipeline
from services.gateway.pages.access import NotForYou, SignInFirst, person_for, sign_in_location
from services.gateway.pages.api import ApiRefused, ServiceApi
from services.gateway.pages.tables import Table
from services.gateway.signin.session import SignedIn
from shared.config import Role

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=HERE / "templates")
router = APIRouter(prefix="/app", include_in_schema=False)

MonthQ = Annotated[str | None, Query(max_length=7, description="YYYY-MM (default: this month)")]
SchoolQ = Annotated[str | None, Query(max_length=255, description="A school's sourcedId")]
ToolQ = Annotated[str | None, Query(max_length=36, description="A catalog tool's id")]


class BadFilter(Exception):
    """A filter the page cannot use: answered 422 naming it."""

    def __init__(self, field: str, detail: str) -> None:
        super().__init__(detail)
        self.field = field
        self.detail = detail


def _filters(month: str | None, school_id: str | None, tool_id: str | None) -> dict[str, str | None]:
    today = dt.datetime.now(dt.UTC).date()
    month = month or f"{today.year:04d}-{today.month:02d}"
    if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", month):
        raise BadFilter("month", "month must look like 2026-03")
    if tool_id:
        try:
            tool_id = str(uuid.UUID(tool_id))
        except ValueError:
            raise BadFilter("tool_id", "tool_id must be a catalog tool's id") from None
    return {"month": month, "school_id": school_id or None, "tool_id": tool_id or None}


def _page(request: Request, template: str, person: SignedIn, **context: Any) -> HTMLResponse:
    return templates.TemplateResponse(
        request, template, {"person": person.principal, "nav": _nav(person), **context}
    )


def _nav(person: SignedIn) -> list[tuple[str, str]]:
    p = person.principal
    links = []
    if p.has_any("admin", "edtech"):
        links.append(("/app/dashboard", "Monthly dashboard"))
    if p.has_any("edtech"):
        links.append(("/app/pipeline", "Pipeline"))
    if p.has_any("edtech", "specialist", "teacher"):
        links.append(("/app/pilots", "Pilots"))
    return links


async def _monthly(request: Request, person: SignedIn, filters: dict[str, str | None]) -> dict[str, Any]:
    report: dict[str, Any] = await ServiceApi(request, person).get("analytics", "/reports/monthly", filters)
    return report


@router.get("/")
async def home(request: Request) -> Response:
    """The first page a person's roles lead to."""
    person = await person_for(request, "admin", "edtech", "specialist", "teacher")
    first = _nav(person)
    if not first:
        raise NotForYou(person, "No page here is for your roles.")
    return RedirectResponse(first[0][0], status_code=303)


@router.get("/dashboard")
async def dashboard_page(
    request: Request, month: MonthQ = None, school_id: SchoolQ = None, tool_id: ToolQ = None
) -> HTMLResponse:
    """The monthly dashboard: every figure of the month, charted, with its table and freshness."""
    person = await person_for(request, "admin", "edtech")
    filters = _filters(month, school_id, tool_id)
    api = ServiceApi(request, person)
    report, tools, schools = await api.gather(
        api.get("analytics", "/reports/monthly", filters),
        api.get("catalog", "/tools", {"limit": 500}),
        api.get("analytics", "/rosters/schools", {"limit": 500}),
    )
    school_names = {s["sourced_id"]: s["name"] for s in schools["items"]}
    tables = [build(report) for build in dashboard.TABLES.values()]
    heat = tables[3]
    busiest = max(
        (r.get(c.key) or 0 for r in heat.rows for c in heat.columns if c.key.startswith("week_")), default=0
    )
    query = "&".join(f"{k}={v}" for k, v in filters.items() if v)
    return _page(
        request,
        "dashboard.html",
        person,
        title="Monthly dashboard",
        report=report,
        tables=tables,
        filters=filters,
        query=query,
        tools=sorted(tools["items"], key=lambda t: t["name"].lower()),
        schools=schools["items"],
        school_name=school_names.get(filters["school_id"] or "", filters["school_id"]),
        heat_class=lambda c, row: (
            f"heat heat-{dashboard.heat_level(row.get(c.key), busiest)}" if c.key.startswith("week_") else ""
        ),
    )


@router.get("/dashboard/{name}.csv")
async def dashboard_csv(
    request: Request, name: str, month: MonthQ = None, school_id: SchoolQ = None, tool_id: ToolQ = None
) -> Response:
    """One table of the monthly dashboard as CSV (the API's numbers as they are)."""
    person = await person_for(request, "admin", "edtech")
    if name not in dashboard.TABLES:
        raise BadFilter("name", f"no table {name!r}: one of {', '.join(dashboard.TABLES)}")
    filters = _filters(month, school_id, tool_id)
    table = dashboard.TABLES[name](await _monthly(request, person, filters))
    return _csv(table, f"{name}-{filters['month']}")


@router.get("/pipeline")
async def pipeline_page(request: Request) -> HTMLResponse:
    """The pipeline: tools by stage with checklist state and open flags, renewals, retirements."""
    person = await person_for(request, "edtech")
    data = await pipeline.load(ServiceApi(request, person))
    tables = [build(data) for build in pipeline.TABLES.values()]
    return _page(request, "pipeline.html", person, title="Pipeline", tables=tables, total=data["total"])


@router.get("/pipeline/{name}.csv")
async def pipeline_csv(request: Request, name: str) -> Response:
    """One table of the pipeline as CSV."""
    person = await person_for(request, "edtech")
    if name not in pipeline.TABLES:
        raise BadFilter("name", f"no table {name!r}: one of {', '.join(pipeline.TABLES)}")
    data = await pipeline.load(ServiceApi(request, person))
    return _csv(pipeline.TABLES[name](data), f"pipeline-{name}")


PILOT_ROLES: tuple[Role, ...] = ("edtech", "specialist", "teacher")


def _own_pilot(person: SignedIn, data: dict[str, Any]) -> None:
    """A teacher sees only the pilots they teach in (staff see the district's)."""
    p = person.principal
    if not p.has_any("edtech", "specialist") and p.subject not in data["pilot"]["teacher_ids"]:
        raise NotForYou(person, "This pilot is not one of yours.")


def _pilot_id(pilot_id: str) -> str:
    try:
        return str(uuid.UUID(pilot_id))
    except ValueError:
        raise BadFilter("pilot_id", "pilot_id must be a pilot's id") from None


@router.get("/pilots")
async def pilots_page(request: Request) -> HTMLResponse:
    """The district's pilots (a teacher's own), each linking to its page."""
    person = await person_for(request, *PILOT_ROLES)
    api = ServiceApi(request, person)
    items, tools = await api.gather(
        api.get("pilots", "/pilots", {"limit": 500}), api.get_or_none("catalog", "/tools", {"limit": 500})
    )
    mine = [
        p
        for p in items["items"]
        if person.principal.has_any("edtech", "specialist") or person.principal.subject in p["teacher_ids"]
    ]
    names = {t["id"]: t["name"] for t in (tools or {"items": []})["items"]}
    return _page(request, "pilots.html", person, title="Pilots", table=pilot.pilots(mine, names))


@router.get("/pilots/{pilot_id}")
async def pilot_page(request: Request, pilot_id: str) -> HTMLResponse:
    """One pilot: schedule, time-on-task, surveys, error patterns, usage, the report and the decision."""
    person = await person_for(request, *PILOT_ROLES)
    pilot_id = _pilot_id(pilot_id)
    staff = person.principal.has_any("edtech", "specialist")
    data = await pilot.load(ServiceApi(request, person), pilot_id, staff=staff)
    _own_pilot(person, data)
    tables = [t for t in (build(data) for build in pilot.TABLES.values()) if t is not None]
    return _page(
        request,
        "pilot.html",
        person,
        title=data["pilot"]["title"],
        data=data,
        tables=tables,
        csv_base=f"/app/pilots/{pilot_id}",
    )


@router.get("/pilots/{pilot_id}/{name}.csv")
async def pilot_csv(request: Request, pilot_id: str, name: str) -> Response:
    """One table of a pilot's page as CSV."""
    person = await person_for(request, *PILOT_ROLES)
    pilot_id = _pilot_id(pilot_id)
    if name not in pilot.TABLES:
        raise BadFilter("name", f"no table {name!r}: one of {', '.join(pilot.TABLES)}")
    staff = person.principal.has_any("edtech", "specialist")
    data = await pilot.load(ServiceApi(request, person), pilot_id, staff=staff)
    _own_pilot(person, data)
    table = pilot.TABLES[name](data)
    if table is None:
        raise NotForYou(person, "This table is for the district's staff.")
    return _csv(table, f"pilot-{pilot_id}-{name}")


def _csv(table: Table, stem: str) -> Response:
    return Response(
        table.csv(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{stem}.csv"'},
    )


def _error_page(
    request: Request, status: int, title: str, detail: str, person: SignedIn | None
) -> HTMLResponse:
    context: dict[str, Any] = {"title": title, "detail": detail, "status": status}
    context["person"] = person.principal if person else None
    context["nav"] = _nav(person) if person else []
    return templates.TemplateResponse(request, "error.html", context, status_code=status)


def install_pages(app: FastAPI) -> None:
    """Mount the pages under /app/ (and their assets under /app/static/) on the gateway app."""

    @app.exception_handler(SignInFirst)
    async def _sign_in(_: Request, exc: SignInFirst) -> Response:
        return RedirectResponse(sign_in_location(exc), status_code=303)

    @app.exception_handler(NotForYou)
    async def _forbidden(request: Request, exc: NotForYou) -> Response:
        return _error_page(request, 403, "Not available to you", exc.detail, exc.person)

    @app.exception_handler(BadFilter)
    async def _bad_filter(request: Request, exc: BadFilter) -> Response:
        return _error_page(request, 422, "Cannot show this", f"{exc.field}: {exc.detail}", None)

    @app.exception_handler(ApiRefused)
    async def _refused(request: Request, exc: ApiRefused) -> Response:
        detail = f"{exc.field}: {exc.detail}" if exc.field else exc.detail
        status = exc.status if 400 <= exc.status < 600 else 502
        return _error_page(request, status, "The data could not be read", detail, None)

    app.include_router(router)
    app.mount("/app/static", StaticFiles(directory=HERE / "static"), name="pages-static")
