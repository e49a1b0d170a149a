"""Fixtures of the pilots tests: the pilots app on the test database and helpers to drive it."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from services.pilots.db import outbox
from shared.bus import IncomingMessage
from shared.events import CloudEvent, EventPayload, ToolRegistered, ToolStatusChanged
from tests.fixtures.auth import TokenFactory
from tests.fixtures.services import AppFactory

TEACHERS = ["teacher-a", "teacher-b", "teacher-c"]
MONDAY = dt.date(2026, 3, 2)


@pytest.fixture(scope="session")
async def pilots_service(service_app: AppFactory) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    """The pilots service (no workers: events stay in its outbox, consumed ones are fed by hand)."""
    async with service_app("pilots") as (app, client):
        yield app, client


@pytest.fixture
def pilots_app(pilots_service: tuple[FastAPI, httpx.AsyncClient]) -> FastAPI:
    """The pilots app (for its runtime: database and consumer)."""
    return pilots_service[0]


@pytest.fixture
def pilots(pilots_service: tuple[FastAPI, httpx.AsyncClient]) -> httpx.AsyncClient:
    """A client of the pilots app."""
    return pilots_service[1]


def message(
    payload: EventPayload, *, district_id: str, time: dt.datetime | None = None, event_id: str | None = None
) -> IncomingMessage:
    """A catalog event as the bus would deliver it."""
    event = CloudEvent.wrap(payload, source="/edtech/catalog", district_id=district_id)
    if time is not None:
        event.time = time
    if event_id is not None:
        event.id = event_id
    return IncomingMessage(
        topic=payload.topic, partition=0, offset=0, key=payload.key(), value=event.to_bytes()
    )


async def feed(app: FastAPI, msg: IncomingMessage) -> None:
    """Deliver one message to the pilots consumer."""
    await app.state.runtime.consumer.handle_message(msg)


async def catalog_tool(
    app: FastAPI,
    district: str,
    *,
    status: str = "approved_for_pilot",
    name: str = "Desmos",
    tool_id: uuid.UUID | None = None,
) -> uuid.UUID:
    """A tool the catalog registered and moved to `status`, as pilots hears of it by events."""
    tool_id = tool_id or uuid.uuid4()
    await feed(
        app,
        message(
            ToolRegistered(tool_id=tool_id, tool_name=name, status="proposed"),
            district_id=district,
            time=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
        ),
    )
    if status != "proposed":
        await feed(
            app,
            message(
                ToolStatusChanged(
                    tool_id=tool_id,
                    tool_name=name,
                    from_status="vetting",
                    to_status=status,
                    changed_at=dt.datetime(2026, 1, 2, tzinfo=dt.UTC),
                ),
                district_id=district,
            ),
        )
    return tool_id


def plan(tool_id: uuid.UUID, **overrides: Any) -> dict[str, Any]:
    """A valid pilot plan body."""
    return {
        "tool_id": str(tool_id),
        "title": "Desmos in Algebra I",
        "goals": ["graph linear functions"],
        "teacher_ids": TEACHERS,
        "start_date": MONDAY.isoformat(),
        "classes": [
            {"name": "Algebra I", "period": "3", "teacher_id": "teacher-a"},
            {"name": "Algebra I", "period": "5"},
        ],
        **overrides,
    }


async def started_pilot(
    app: FastAPI, client: httpx.AsyncClient, auth: TokenFactory, district: str, **overrides: Any
) -> dict[str, Any]:
    """A pilot of an approved tool, planned and started."""
    tool_id = await catalog_tool(app, district)
    r = await client.post("/api/pilots/pilots", json=plan(tool_id, **overrides), headers=auth("edtech"))
    assert r.status_code == 201, r.text
    r = await client.post(f"/api/pilots/pilots/{r.json()['id']}/start", headers=auth("edtech"))
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


async def outbox_events(app: FastAPI, key: str) -> list[CloudEvent]:
    """The events the pilots outbox holds under a key (a tool id), oldest first."""
    async with app.state.runtime.db.transaction() as session:
        rows = (await session.execute(select(outbox).where(outbox.c.key == key).order_by(outbox.c.id))).all()
    return [CloudEvent.from_bytes(row.payload.encode()) for row in rows]
