"""The thin slice of the catalog: register a tool, read it, react to pilot-started."""

from __future__ import annotations

import datetime as dt
import uuid

import httpx
from sqlalchemy import select

from services.catalog.db import outbox
from shared.bus import IncomingMessage
from shared.events import CloudEvent, PilotStarted
from tests.catalog.helpers import approved_tool
from tests.fixtures.auth import TokenFactory
from tests.fixtures.services import AppFactory


async def test_register_tool_writes_event_in_same_transaction(
    catalog: httpx.AsyncClient, auth: TokenFactory, service_app: AppFactory
) -> None:
    r = await catalog.post(
        "/api/catalog/tools", json={"name": "Desmos", "subjects": ["math"]}, headers=auth("edtech")
    )
    assert r.status_code == 201, r.text
    tool = r.json()
    assert tool["status"] == "proposed"
    async with service_app("catalog") as (app, _):
        async with app.state.runtime.db.transaction() as session:
            rows = (await session.execute(select(outbox).where(outbox.c.key == tool["id"]))).all()
    assert [row.event_type for row in rows] == ["org.edtech.tool.registered.v1"]
    event = CloudEvent.from_bytes(rows[0].payload.encode())
    assert event.data["tool_name"] == "Desmos"
    assert event.subject == f"tools/{tool['id']}"


async def test_other_district_gets_404(catalog: httpx.AsyncClient, auth: TokenFactory) -> None:
    r = await catalog.post("/api/catalog/tools", json={"name": "Kahoot"}, headers=auth("edtech"))
    tool_id = r.json()["id"]
    other = await catalog.get(
        f"/api/catalog/tools/{tool_id}", headers=auth("edtech", district_id="elsewhere")
    )
    assert other.status_code == 404
    assert other.headers["content-type"] == "application/problem+json"


async def test_bad_input_names_the_field(catalog: httpx.AsyncClient, auth: TokenFactory) -> None:
    r = await catalog.post("/api/catalog/tools", json={"name": ""}, headers=auth("edtech"))
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "name"
    r = await catalog.post(
        "/api/catalog/tools",
        content=b"{not json",
        headers={**auth("edtech"), "content-type": "application/json"},
    )
    assert r.status_code == 422
    assert r.headers["content-type"] == "application/problem+json"


async def test_missing_token_is_401(catalog: httpx.AsyncClient) -> None:
    r = await catalog.get("/api/catalog/tools")
    assert r.status_code == 401
    assert "bearer token" in r.json()["detail"]


async def test_pilot_started_moves_tool_to_piloting_once(
    catalog: httpx.AsyncClient, auth: TokenFactory, district: str, service_app: AppFactory
) -> None:
    tool_id = (await approved_tool(catalog, auth, name="Nearpod"))["id"]
    async with service_app("catalog") as (app, _):
        runtime = app.state.runtime
        event = CloudEvent.wrap(
            PilotStarted(
                tool_id=uuid.UUID(tool_id),
                pilot_id=uuid.uuid4(),
                teacher_ids=["t1", "t2", "t3"],
                start_date=dt.date(2026, 1, 5),
                end_date=dt.date(2026, 2, 2),
            ),
            source="/edtech/pilots",
            district_id=district,
        )
        message = IncomingMessage(
            topic=PilotStarted.topic, partition=0, offset=1, key=tool_id, value=event.to_bytes()
        )
        await runtime.consumer.handle_message(message)
        await runtime.consumer.handle_message(message)  # redelivered
    r = await catalog.get(f"/api/catalog/tools/{tool_id}/history", headers=auth("teacher"))
    moves = [(h["from_status"], h["to_status"]) for h in r.json()]
    assert moves == [
        (None, "proposed"),
        ("proposed", "vetting"),
        ("vetting", "approved_for_pilot"),
        ("approved_for_pilot", "piloting"),
    ]
