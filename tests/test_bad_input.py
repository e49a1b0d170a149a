"""Bad input is a problem+json 4xx naming the input, never a 500, on PostgreSQL and on SQLite.

Every operation of every service is swept (`tests/fixtures/sweep.py`): NUL characters in body
fields and keys, query and path parameters; dates and timestamps at years 1 and 9999 and just
outside 1900..2199; integers past their bounds and past 64 bits; numbers that are not finite;
strings past their stated length. The edges of the stated bounds (and 10,000 characters where no
length is stated) must be answered without a 5xx, and after every bad request the next
one on the same client still works. The webhooks and roster imports are tested in
`tests/analytics/test_bad_input.py`.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from services.gateway.app import create_app as create_gateway
from services.gateway.config import Settings as GatewaySettings
from shared.migrations import SERVICES_WITH_DATABASE, upgrade
from shared.validation import INT64_MAX
from tests.fixtures.auth import TokenFactory
from tests.fixtures.services import AppFactory, running_app
from tests.fixtures.sweep import Sweep, is_problem, judge, names
from tests.pilots.conftest import catalog_tool

ROLES = ("edtech", "specialist", "teacher", "admin", "vendor")  # every operation, the vendor portal too
HINTS = {
    "teacher_ids": ["teacher-a", "teacher-b", "teacher-c"],
    "StandardAlignmentCreate.framework": "CCSS",
    "StandardAlignmentCreate.code": "CCSS.MATH.CONTENT.6.RP.A.1",
    "InstrumentCreate.code": "custom_1",
    "CoachingCycleCreate.teacher_id": "teacher-a",
    "AnalysisCreate.tool_id": "6f1c1b8e-3b0e-4a57-9d57-2f0c1e4b5a10",
    "AnalysisCreate.start": "2026-01-05",
    "AnalysisCreate.end": "2026-03-01",
}
"""Valid values the schemas do not spell out (so that resources can be made)."""
MADE = {
    "tools": "tool_id",
    "vendors": "vendor_id",
    "standards": "alignment_id",
    "rubrics": "rubric_id",
    "licenses": "license_id",
    "flags": "flag_id",
    "requests": "request_id",
    "pilots": "pilot_id",
    "instruments": "code",
    "coaching-cycles": "cycle_id",
    "integrations": "integration_id",
}
"""The path parameter naming what a POST to a collection makes."""
PROBE = {
    "catalog": "/api/catalog/tools?limit=1",
    "pilots": "/api/pilots/pilots?limit=1",
    "analytics": "/api/analytics/integrations?limit=1",
}
"""A valid request of each service, sent after every bad one."""


@pytest.fixture(scope="session")
def sqlite_urls(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A migrated SQLite file per service, as the embedded default runs them."""
    folder = tmp_path_factory.mktemp("bad_input")
    urls = {s: f"sqlite+aiosqlite:///{folder / s}.db" for s in SERVICES_WITH_DATABASE}
    for service, url in urls.items():
        upgrade(service, url)
    return urls


@pytest.fixture(params=["postgresql", "sqlite"])
def database(request: pytest.FixtureRequest, database_url: str, sqlite_urls: dict[str, str]) -> Iterator[Any]:
    """`database(service)`: the service's database URL on PostgreSQL, then on SQLite."""
    yield lambda service: database_url if request.param == "postgresql" else sqlite_urls[service]


async def _make_resources(
    client: httpx.AsyncClient, sweep: Sweep, headers: dict[str, str], app: Any, district: str
) -> None:
    """Make one resource of each kind the document lets a POST make, for path parameters."""
    if "/api/pilots/pilots" in sweep.doc["paths"]:  # pilots hears of approved tools by events
        sweep.ids["tool_id"] = str(await catalog_tool(app, district))
    for _ in range(3):  # nested collections need their parent first
        for method, path, op in sweep.operations():
            made = MADE.get(path.rsplit("/", 1)[-1])
            params = [p["name"] for p in op.get("parameters", []) if p["in"] == "path"]
            if method != "POST" or made is None or made in sweep.ids or not set(params) <= sweep.ids.keys():
                continue
            r = await client.post(sweep.url(path, op), json=sweep.body(op), headers=headers)
            if r.status_code < 300:
                sweep.ids[made] = str(r.json().get("code") or r.json()["id"])


@pytest.mark.parametrize("service", ["catalog", "pilots", "analytics"])
async def test_every_operation_refuses_bad_input(
    service: str, database: Any, service_app: AppFactory, auth: TokenFactory, district: str
) -> None:
    headers = auth(*ROLES)
    async with service_app(service, database_url=database(service)) as (app, client):
        sweep = Sweep(app.openapi(), hints=HINTS)
        await _make_resources(client, sweep, headers, app, district)
        wrong: list[str] = []
        count = 0
        for _, cases in itertools.groupby(sweep.cases(), key=lambda c: (c.method, c.path)):
            for case in cases:  # each answered right after the bad one before it
                count += 1
                r = await client.request(
                    case.method,
                    case.url,
                    content=case.body,
                    headers={**headers, "content-type": "application/json"},
                )
                if (problem := judge(case, r)) is not None:
                    wrong.append(f"{case}: {problem}")
            after = await client.get(PROBE[service], headers=headers)  # and a good one after them
            assert after.status_code == 200, f"after {case}: {after.status_code} {after.text[:300]}"
        assert not wrong, f"{len(wrong)} of {count} cases answered wrongly:\n" + "\n".join(wrong)
        assert count > 200  # the sweep reached the operations


@pytest.mark.parametrize("service", ["catalog", "pilots", "analytics"])
async def test_every_integer_input_states_bounds_within_64_bits(
    service: str, service_app: AppFactory
) -> None:
    async with service_app(service) as (app, _):
        sweep = Sweep(app.openapi())
        unbounded = []
        for method, path, op in sweep.operations():
            inputs = [
                (p["name"], p.get("schema", {})) for p in op.get("parameters", []) if p["in"] != "header"
            ]
            body = sweep.body_schema(op)
            inputs += [(".".join(leaf), s) for leaf, s in sweep.leaves(body)] if body else []
            for name, schema in inputs:
                s = sweep.resolve(schema)
                # bounds travel as JSON numbers (floats): 2**63 - 1 reads as 2**63
                low, high = float(s.get("minimum", -(2.0**64))), float(s.get("maximum", 2.0**64))
                within = float(-INT64_MAX - 1) <= low and high <= float(INT64_MAX)
                if s.get("type") == "integer" and not within:
                    unbounded.append(f"{method} {path} {name}")
        assert not unbounded


async def test_the_gateway_refuses_nul_in_its_own_routes_and_forwards_the_rest(
    auth_settings: dict[str, Any], service_app: AppFactory, auth: TokenFactory
) -> None:
    settings = GatewaySettings(environment="test", **auth_settings)
    async with service_app("catalog") as (catalog, _):
        transports = {"catalog": httpx.ASGITransport(app=catalog)}
        async with running_app(create_gateway(settings, transports=transports)) as gateway:
            r = await gateway.post("/auth/dev/token", json={"district_id": "a\x00b", "roles": ["edtech"]})
            assert r.status_code == 422 and is_problem(r) and names(r, "district_id"), r.text
            r = await gateway.get("/api/catalog/tools", params={"q": "a\x00b"}, headers=auth("teacher"))
            assert r.status_code == 422 and is_problem(r) and names(r, "q"), r.text
            # A NUL in the path is refused by the edge, as nginx refuses it (services/edge/routes.py).
            r = await gateway.get("/api/catalog/tools/a%00b", headers=auth("teacher"))
            assert r.status_code == 400 and is_problem(r) and names(r, "path"), r.text
            r = await gateway.get("/api/catalog/tools", params={"q": "ab"}, headers=auth("teacher"))
            assert r.status_code == 200, r.text
