"""Every id an analytics write names belongs to the caller's district (`shared.ownership`).

Analytics knows catalog tools from `tool-registered` (its `tool_info` copy), pilots from
`pilot-started`, and catalog license ids only from the licenses districts entered. An id one of these
places in another district is refused (422 naming the field) and nothing is stored; an id nobody
here knows yet is accepted (its event may still be on its way).
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
from typing import Any

import httpx
import orjson
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from services.analytics.models import ErrorDaily, PilotCohort, TamResponse, ToolInfo, UsageEvent
from shared.events import ErrorLogged, PilotStarted, TamAnswered, TamCount, ToolRegistered, ToolStatusChanged
from tests.analytics.conftest import sign_request
from tests.analytics.dataset import deliver, licensed
from tests.fixtures.auth import TokenFactory

API = "/api/analytics"


@pytest.fixture
def other() -> str:
    """A second district, with tools and licenses of its own."""
    return f"other-{uuid.uuid4().hex[:10]}"


async def registered_tool(app: FastAPI, district: str, name: str = "Desmos") -> str:
    """A catalog tool of `district`, as analytics hears of it by `tool-registered`."""
    tool_id = uuid.uuid4()
    await deliver(
        app.state.runtime, ToolRegistered(tool_id=tool_id, tool_name=name, status="adopted"), district
    )
    return str(tool_id)


def refused_naming(r: httpx.Response, field: str, value: str, label: str = "tool") -> None:
    """A 422 problem naming `field`, worded as for an id nobody knows."""
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["errors"] == [{"field": field, "message": f"unknown {label} {value} in this district"}]


async def rows(app: FastAPI, model: Any, *where: Any) -> list[Any]:
    """Rows of an analytics table matching `where`."""
    async with app.state.runtime.db.transaction() as session:
        return list((await session.scalars(select(model).where(*where))).all())


async def test_writes_naming_another_districts_tool_are_refused_and_store_nothing(
    analytics_app: tuple[FastAPI, httpx.AsyncClient], auth: TokenFactory, district: str, other: str
) -> None:
    app, client = analytics_app
    theirs = await registered_tool(app, other)
    mine = auth("edtech")

    r = await client.post(f"{API}/integrations", json={"name": "LMS", "tool_id": theirs}, headers=mine)
    refused_naming(r, "tool_id", theirs)
    await licensed(app.state.runtime, theirs, district, seats=5)  # an event naming their tool: nothing

    assert (await client.get(f"{API}/integrations", headers=mine)).json()["total"] == 0
    assert (await client.get(f"{API}/licenses", headers=mine)).json()["total"] == 0

    # the tool's own district may name it; reading stays per district
    owner = auth("edtech", district_id=other)
    r = await client.post(f"{API}/integrations", json={"name": "LMS", "tool_id": theirs}, headers=owner)
    assert r.status_code == 201, r.text
    await licensed(app.state.runtime, theirs, other, seats=5)
    assert [i["tool_id"] for i in (await client.get(f"{API}/licenses", headers=owner)).json()["items"]] == [
        theirs
    ]
    assert (await client.get(f"{API}/licenses", headers=mine)).json()["total"] == 0


async def test_a_tool_not_known_here_yet_is_accepted_and_later_stays_the_callers(
    analytics_app: tuple[FastAPI, httpx.AsyncClient], auth: TokenFactory, district: str, other: str
) -> None:
    app, client = analytics_app
    early = str(uuid.uuid4())  # registered in the catalog; its event has not reached analytics yet
    body = {"name": "LMS", "tool_id": early}
    r = await client.post(f"{API}/integrations", json=body, headers=auth("edtech"))
    assert r.status_code == 201, r.text
    await deliver(
        app.state.runtime,
        ToolRegistered(tool_id=uuid.UUID(early), tool_name="Padlet", status="adopted"),
        district,
    )
    r = await client.post(f"{API}/integrations", json=body, headers=auth("edtech"))
    assert r.status_code == 201, r.text
    r = await client.post(f"{API}/integrations", json=body, headers=auth("edtech", district_id=other))
    refused_naming(r, "tool_id", early)


async def test_platform_events_naming_another_districts_tool_are_rejected(
    analytics_app: tuple[FastAPI, httpx.AsyncClient], auth: TokenFactory, district: str, other: str
) -> None:
    app, client = analytics_app
    theirs, mine = await registered_tool(app, other), await registered_tool(app, district)
    unknown = str(uuid.uuid4())
    r = await client.post(f"{API}/integrations", json={"name": "Relay"}, headers=auth("edtech"))
    assert r.status_code == 201, r.text
    integration = r.json()

    async def post(payload: Any) -> httpx.Response:
        body = orjson.dumps(payload)
        headers = sign_request(integration["secret"], body, timestamp=int(time.time()))
        return await client.post(
            f"{API}/webhooks/{integration['id']}/events",
            content=body,
            headers={**headers, "content-type": "application/json"},
        )

    def event(tool_id: str) -> dict[str, Any]:
        return {
            "event_id": f"ev-{uuid.uuid4().hex}",
            "type": "login",
            "occurred_at": "2026-03-02T08:00:00Z",
            "user_id": "s1",
            "tool_id": tool_id,
        }

    r = await post(event(theirs))
    refused_naming(r, "tool_id", theirs)

    r = await post({"events": [event(mine), event(theirs), event(unknown)]})
    assert r.status_code == 207, r.text
    body = r.json()
    assert (body["accepted"], body["rejected"]) == (
        2,
        [
            {
                "index": 1,
                "errors": [{"field": "tool_id", "message": f"unknown tool {theirs} in this district"}],
            }
        ],
    )
    stored = await rows(app, UsageEvent, UsageEvent.district_id == district)
    assert sorted(e.tool_id for e in stored) == sorted([mine, unknown])
    assert await rows(app, UsageEvent, UsageEvent.tool_id == theirs) == []


async def test_events_naming_another_districts_ids_change_nothing(
    analytics_app: tuple[FastAPI, httpx.AsyncClient], auth: TokenFactory, district: str, other: str
) -> None:
    app, client = analytics_app
    runtime = app.state.runtime
    theirs = await registered_tool(app, other, name="Desmos")
    tool = uuid.UUID(theirs)

    await deliver(runtime, ToolRegistered(tool_id=tool, tool_name="Forged", status="retired"), district)
    await deliver(
        runtime,
        ToolStatusChanged(
            tool_id=tool,
            tool_name="Forged",
            from_status="adopted",
            to_status="retired",
            changed_at=dt.datetime.now(dt.UTC),
        ),
        district,
    )
    copies = await rows(app, ToolInfo, ToolInfo.tool_id == theirs)
    assert [(c.district_id, c.name, c.status) for c in copies] == [(other, "Desmos", "adopted")]

    def error() -> ErrorLogged:
        return ErrorLogged(
            tool_id=tool,
            error_id=uuid.uuid4(),
            occurred_at=dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC),
            severity="high",
            description="quiz froze",
        )

    await deliver(runtime, error(), district)
    assert await rows(app, ErrorDaily, ErrorDaily.tool_id == theirs) == []
    await deliver(runtime, error(), other)  # the owner's own event still counts
    counted = await rows(app, ErrorDaily, ErrorDaily.tool_id == theirs)
    assert [(e.district_id, e.errors) for e in counted] == [(other, 1)]

    def tam(teacher: str) -> TamAnswered:
        return TamAnswered(
            tool_id=tool,
            pilot_id=uuid.uuid4(),
            teacher_id=teacher,
            phase="post",
            overall=TamCount(answers=10, positive=9),
            scale_min=1,
            scale_max=5,
            threshold=4,
            buy_in_target=0.85,
            answered_at=dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC),
        )

    await deliver(runtime, tam("t-1"), district)
    assert await rows(app, TamResponse, TamResponse.tool_id == theirs) == []
    await deliver(runtime, tam("t-2"), other)
    assert [r.district_id for r in await rows(app, TamResponse, TamResponse.tool_id == theirs)] == [other]

    def started(pilot_id: uuid.UUID, tool_id: uuid.UUID) -> PilotStarted:
        return PilotStarted(
            tool_id=tool_id,
            pilot_id=pilot_id,
            teacher_ids=["t-1"],
            start_date=dt.date(2026, 3, 2),
            end_date=dt.date(2026, 3, 29),
        )

    their_pilot = uuid.uuid4()
    await deliver(runtime, started(their_pilot, tool), other)
    await deliver(runtime, started(their_pilot, uuid.uuid4()), district)  # their pilot id
    await deliver(runtime, started(uuid.uuid4(), tool), district)  # their tool
    assert await rows(app, PilotCohort, PilotCohort.district_id == district) == []
    cohorts = await rows(app, PilotCohort, PilotCohort.pilot_id == their_pilot)
    assert [(c.district_id, c.tool_id) for c in cohorts] == [(other, theirs)]
    r = await client.get(f"{API}/pilots/{their_pilot}/usage", headers=auth("edtech"))
    assert r.status_code == 404
    r = await client.get(f"{API}/pilots/{their_pilot}/usage", headers=auth("edtech", district_id=other))
    assert r.status_code == 200, r.text


async def test_an_outcome_analysis_of_another_districts_tool_is_refused(
    analytics_app: tuple[FastAPI, httpx.AsyncClient], auth: TokenFactory, other: str
) -> None:
    app, client = analytics_app
    theirs = await registered_tool(app, other)
    body = {"tool_id": theirs, "assessment": "Spring MAP Math", "start": "2026-01-05", "end": "2026-05-29"}
    r = await client.post(f"{API}/outcomes/analyses", json=body, headers=auth("edtech"))
    refused_naming(r, "tool_id", theirs)  # refused before the analysis reads or stores anything
