"""Bad input to the analytics service's own readers, on PostgreSQL and SQLite: webhook deliveries
(one bad event is rejected by its index and the others are stored; an xAPI batch is refused whole,
as the xAPI specification says), `YYYY-MM` months, and roster cells."""

from __future__ import annotations

import base64
import time
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from hypothesis import given
from hypothesis import strategies as st

from services.analytics.ingest.signing import signed_headers
from services.analytics.rosters.service import RowRejected, _cells, _date
from shared.migrations import upgrade
from shared.validation import MAX_DATE, MIN_DATE
from tests.analytics.dataset import integration_events
from tests.fixtures.auth import TokenFactory
from tests.fixtures.services import AppFactory
from tests.fixtures.sweep import Raw, encode

Analytics = tuple[FastAPI, httpx.AsyncClient]
WHEN = "2026-03-03T10:00:00Z"


@pytest.fixture(scope="session")
async def sqlite_analytics(
    service_app: AppFactory, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Analytics]:
    """The analytics service on a migrated SQLite file, as the embedded default runs it."""
    url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('bad_input') / 'analytics.db'}"
    upgrade("analytics", url)
    async with service_app("analytics", database_url=url, integration_cache_ttl_s=0) as pair:
        yield pair


@pytest.fixture(params=["postgresql", "sqlite"])
def service(request: pytest.FixtureRequest) -> Analytics:
    """The analytics app and its client, on PostgreSQL, then on SQLite."""
    name = "analytics_app" if request.param == "postgresql" else "sqlite_analytics"
    pair: Analytics = request.getfixturevalue(name)
    return pair


async def new_integration(client: httpx.AsyncClient, auth: TokenFactory) -> dict[str, Any]:
    """An integration bound to a tool, with its secret and credentials."""
    r = await client.post(
        "/api/analytics/integrations",
        headers=auth("edtech"),
        json={"name": "LMS", "tool_id": str(uuid.uuid4())},
    )
    assert r.status_code == 201, r.text
    return dict(r.json())


async def post_signed(
    client: httpx.AsyncClient, integration: dict[str, Any], fmt: str, body: bytes
) -> httpx.Response:
    """A delivery signed the Standard Webhooks way, with a fresh webhook-id."""
    headers = signed_headers(integration["secret"], f"msg_{uuid.uuid4().hex}", int(time.time()), body)
    return await client.post(
        f"/api/analytics/webhooks/{integration['id']}/{fmt}",
        content=body,
        headers={**headers, "content-type": "application/json"},
    )


def platform(i: int) -> dict[str, Any]:
    return {"event_id": f"ev-{uuid.uuid4()}", "type": "login", "occurred_at": WHEN, "user_id": f"u-{i}"}


def xapi(i: int) -> dict[str, Any]:
    return {
        "actor": {"account": {"homePage": "https://moodle.example.edu", "name": f"u-{i}"}},
        "verb": {"id": "http://adlnet.gov/expapi/verbs/completed"},
        "object": {"id": f"https://moodle.example.edu/quiz/{i}"},
        "result": {"duration": "PT20M"},
        "timestamp": WHEN,
    }


def caliper(i: int) -> dict[str, Any]:
    return {
        "id": f"urn:uuid:{uuid.uuid4()}",
        "type": "SessionEvent",
        "action": "LoggedIn",
        "actor": {"id": f"https://lms.example.edu/users/u-{i}", "type": "Person"},
        "object": {"id": "https://lms.example.edu", "type": "SoftwareApplication"},
        "eventTime": WHEN,
    }


def canvas(i: int) -> dict[str, Any]:
    return {
        "metadata": {
            "event_name": "logged_in",
            "event_time": WHEN,
            "user_id": f"{i}",
            "event_id": str(uuid.uuid4()),
        },
        "body": {},
    }


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(event: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node = event
        for key in parents:
            node = node[key]
        node[last] = value

    return change


BATCHES: dict[str, tuple[Callable[[int], dict[str, Any]], Callable[[list[Any]], Any]]] = {
    "events": (platform, lambda events: {"events": events}),
    "xapi": (xapi, lambda events: events),
    "caliper": (
        caliper,
        lambda events: {
            "sensor": "https://lms.example.edu/sensors/1",
            "sendTime": WHEN,
            "dataVersion": "http://purl.imsglobal.org/ctx/caliper/v1p2",
            "data": events,
        },
    ),
    "canvas": (canvas, lambda events: events),
}
BAD = [
    ("events", "user_id", _set("user_id", "u\x00x")),
    ("events", "a\\u0000b", _set("a\x00b", "x")),
    ("events", "occurred_at", _set("occurred_at", "0001-01-01T00:00:00Z")),
    ("events", "occurred_at", _set("occurred_at", "0001-01-01T00:30:00+01:00")),
    ("events", "occurred_at", _set("occurred_at", "9999-12-31T23:59:59Z")),
    ("events", "occurred_at", _set("occurred_at", "2200-01-01T00:00:00Z")),
    ("events", "duration_s", _set("duration_s", Raw("1e400"))),
    ("events", "duration_s", _set("duration_s", Raw("NaN"))),
    ("events", "duration_s", _set("duration_s", Raw("9" * 400))),
    ("xapi", "result.duration", _set("result.duration", "PT9X")),
    ("xapi", "timestamp", _set("timestamp", "9999-12-31T23:59:59Z")),
    ("xapi", "actor.account.name", _set("actor.account.name", "u\x00x")),
    ("caliper", "eventTime", _set("eventTime", "0001-01-01T00:00:00Z")),
    ("caliper", "actor.id", _set("actor.id", "https://lms.example.edu/users/\x00")),
    ("canvas", "metadata.event_time", _set("metadata.event_time", "9999-12-31T23:59:59Z")),
    ("canvas", "metadata.user_id", _set("metadata.user_id", "4\x002")),
]


@pytest.mark.parametrize(
    ("fmt", "field", "spoil"), BAD, ids=[f"{f}-{n}-{i}" for i, (f, n, _) in enumerate(BAD)]
)
async def test_a_batch_of_ten_stores_nine_and_rejects_the_bad_event_by_index(
    service: Analytics, auth: TokenFactory, fmt: str, field: str, spoil: Callable[[dict[str, Any]], None]
) -> None:
    app, client = service
    integration = await new_integration(client, auth)
    make, wrap = BATCHES[fmt]
    events = [make(i) for i in range(10)]
    k = 1 + len(field) % 9  # anywhere in the batch
    spoil(events[k])
    body = encode(wrap(events))
    assert body is not None
    r = await post_signed(client, integration, fmt, body)
    assert r.status_code == 207, r.text
    answer = r.json()
    assert answer["accepted"] == 9
    assert [bad["index"] for bad in answer["rejected"]] == [k]
    assert answer["rejected"][0]["errors"][0]["field"] == field, answer
    assert len(await integration_events(app, integration["id"])) == 9
    # the sender retries the same delivery: no 500 to retry forever, nothing stored twice
    r = await post_signed(client, integration, fmt, body)
    assert r.status_code == 207, r.text
    assert (r.json()["accepted"], r.json()["duplicates"]) == (0, 9)
    assert len(await integration_events(app, integration["id"])) == 9


@pytest.mark.parametrize(
    ("field", "spoil"),
    [
        ("result.duration", _set("result.duration", "three days")),
        ("timestamp", _set("timestamp", "0001-01-01T00:00:00Z")),
        ("actor.account.name", _set("actor.account.name", "u\x00x")),
    ],
)
async def test_an_xapi_batch_with_a_bad_statement_is_refused_whole_naming_it(
    service: Analytics, auth: TokenFactory, field: str, spoil: Callable[[dict[str, Any]], None]
) -> None:
    app, client = service
    integration = await new_integration(client, auth)
    lrs = integration["endpoints"]["xapi"]
    credentials = base64.b64encode(f"{lrs['username']}:{lrs['password']}".encode()).decode()
    headers = {
        "Authorization": f"Basic {credentials}",
        "X-Experience-API-Version": "1.0.3",
        "Content-Type": "application/json",
    }
    url = f"/api/analytics/webhooks/{integration['id']}/xapi/statements"
    statements = [xapi(i) for i in range(10)]
    spoil(statements[6])
    r = await client.post(url, content=encode(statements), headers=headers)
    assert r.status_code == 400, r.text
    assert r.json()["errors"][0]["field"] == f"[6].{field}"
    assert await integration_events(app, integration["id"]) == []
    del statements[6]
    r = await client.post(url, content=encode(statements), headers=headers)
    assert r.status_code == 200, r.text
    assert len(r.json()) == 9 == len(await integration_events(app, integration["id"]))


async def test_webhook_parameters_holding_nul_are_refused_naming_them(
    service: Analytics, auth: TokenFactory
) -> None:
    _, client = service
    integration = await new_integration(client, auth)
    base = f"/api/analytics/webhooks/{integration['id']}"
    r = await client.post(f"{base}/canvas/to%00ken", json=canvas(1))
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "token", r.text
    r = await client.put(
        f"{base}/xapi/statements",
        params={"statementId": "a\x00b"},
        headers={"X-Experience-API-Version": "1.0.3"},
    )
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "statementId", r.text
    r = await client.post("/api/analytics/webhooks/a%00b/events", json=platform(1))
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "integration_id", r.text


MONTHS = [("0000-01", 422), ("0001-03", 422), ("1899-12", 422), ("9999-12", 422), ("2200-01", 422)]
MONTHS += [("1900-01", 200), ("2199-12", 200)]


@pytest.mark.parametrize(("month", "status"), MONTHS)
async def test_monthly_reports_exist_for_the_supported_months_only(
    service: Analytics, auth: TokenFactory, month: str, status: int
) -> None:
    _, client = service
    r = await client.get("/api/analytics/reports/monthly", params={"month": month}, headers=auth("admin"))
    assert r.status_code == status, r.text
    if status == 422:
        assert r.json()["errors"][0]["field"] == "month"


@pytest.mark.parametrize("path", ["logins", "submissions", "features", "licenses", "teachers", "errors"])
async def test_dashboards_at_the_edges_of_the_supported_dates(
    service: Analytics, auth: TokenFactory, path: str
) -> None:
    _, client = service
    url = f"/api/analytics/dashboards/{path}"
    for params in ({"to": MAX_DATE.isoformat()}, {"from": MIN_DATE.isoformat(), "to": "1900-03-01"}):
        r = await client.get(url, params=params, headers=auth("admin"))
        assert r.status_code == 200, (params, r.text)
    for params in ({"to": "9999-12-31"}, {"from": "0001-01-01", "to": "0001-02-01"}):
        r = await client.get(url, params=params, headers=auth("admin"))
        assert r.status_code == 422 and r.json()["errors"][0]["field"] in params, (params, r.text)


@given(st.text(), st.text(), st.sampled_from(["sourcedId", "givenName", "email", None]))
def test_a_roster_cell_holding_nul_rejects_its_row_naming_the_column(
    before: str, after: str, column: str | None
) -> None:
    row: dict[Any, Any] = {"sourcedId": "u-1", "givenName": "Ada", "email": "ada@example.edu"}
    cell = f"{before}\x00{after}"
    if column is None:  # a cell past the header (csv.DictReader keeps them in a list)
        row[None] = ["x", cell]
    else:
        row[column] = cell
    with pytest.raises(RowRejected) as refused:
        _cells(row)
    assert refused.value.field == (column or "row")
    _cells({k: v for k, v in row.items() if k != column and k is not None})


@given(st.dates())
def test_a_roster_date_is_read_within_the_supported_range_only(day: Any) -> None:
    row = {"startDate": day.isoformat()}
    if MIN_DATE <= day <= MAX_DATE:
        assert _date(row, "startDate") == day
    else:
        with pytest.raises(RowRejected) as refused:
            _date(row, "startDate")
        assert refused.value.field == "startDate"


@pytest.mark.parametrize("duration", ["P3D", "PT" + "9" * 400 + "S", "PT86401S"])
async def test_an_xapi_duration_past_a_day_is_kept_out_of_time_in_tool_not_refused(
    service: Analytics, auth: TokenFactory, duration: str
) -> None:
    """A valid xAPI duration ("completed after three days", or 400 nines) must not cost a real
    sender its batch; it is no time spent in the tool either: never stored, never Infinity."""
    app, client = service
    integration = await new_integration(client, auth)
    statements = [xapi(i) for i in range(3)]
    statements[1]["result"] = {"duration": duration}
    r = await post_signed(client, integration, "xapi", encode(statements) or b"")
    assert r.status_code == 200, r.text
    stored = await integration_events(app, integration["id"])
    assert len(stored) == 3
    assert sorted(e.duration_s for e in stored if e.duration_s is not None) == [1200.0, 1200.0]
