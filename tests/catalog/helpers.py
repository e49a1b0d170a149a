"""Helpers of the catalog tests: the vetting sequence, feeding events, reading the outbox."""

from __future__ import annotations

import datetime as dt
import itertools
import uuid
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import select

from services.catalog.db import outbox
from shared.bus import IncomingMessage
from shared.events import CloudEvent, EventPayload, PilotCompleted, PilotStarted
from tests.fixtures.auth import TokenFactory

BASE = "/api/catalog"
_offsets = itertools.count(1)

PRIVACY_PASS = {
    "result": "pass",
    "evidence": "Signed DPA on file; FERPA/COPPA reviewed",
    "evidence_url": "https://vendor.example/privacy",
}


async def register(api: httpx.AsyncClient, auth: TokenFactory, **fields: Any) -> dict[str, Any]:
    """Register a tool as edtech; returns its JSON."""
    body = {"name": f"Tool {uuid.uuid4().hex[:6]}", **fields}
    r = await api.post(f"{BASE}/tools", json=body, headers=auth("edtech"))
    assert r.status_code == 201, r.text
    return dict(r.json())


async def vetted_vendor(api: httpx.AsyncClient, auth: TokenFactory) -> dict[str, Any]:
    """A vendor of the district with a signed data privacy agreement on record."""
    r = await api.post(
        f"{BASE}/vendors",
        json={"name": f"Vendor {uuid.uuid4().hex[:6]}", "dpa_signed": True},
        headers=auth("edtech"),
    )
    assert r.status_code == 201, r.text
    return dict(r.json())


async def register_with_dpa(api: httpx.AsyncClient, auth: TokenFactory, **fields: Any) -> dict[str, Any]:
    """A tool whose vendor has signed the district's data privacy agreement (so privacy can pass)."""
    return await register(api, auth, vendor_id=(await vetted_vendor(api, auth))["id"], **fields)


async def move(
    api: httpx.AsyncClient, auth: TokenFactory, tool_id: str, to_status: str, **extra: Any
) -> httpx.Response:
    """POST a lifecycle transition as edtech."""
    return await api.post(
        f"{BASE}/tools/{tool_id}/transitions", json={"to_status": to_status, **extra}, headers=auth("edtech")
    )


async def approved_tool(api: httpx.AsyncClient, auth: TokenFactory, **fields: Any) -> dict[str, Any]:
    """A new tool (its vendor's data privacy agreement signed) taken through the documented HTTP sequence
    to `approved_for_pilot`."""
    tool = await register_with_dpa(api, auth, **fields)
    tid = tool["id"]
    r = await api.post(
        f"{BASE}/tools/{tid}/standards",
        json={"framework": "CCSS", "code": "CCSS.MATH.CONTENT.6.RP.A.1"},
        headers=auth("edtech"),
    )
    assert r.status_code == 201, r.text
    r = await api.put(f"{BASE}/tools/{tid}/checklist/privacy", json=PRIVACY_PASS, headers=auth("edtech"))
    assert r.status_code == 200, r.text
    for status in ("vetting", "approved_for_pilot"):
        r = await move(api, auth, tid, status, reason=f"to {status}")
        assert r.status_code == 200, r.text
    return dict(r.json())


async def adopted_tool(api: httpx.AsyncClient, auth: TokenFactory, **fields: Any) -> dict[str, Any]:
    """A tool taken to `adopted` by HTTP transitions."""
    tool = await approved_tool(api, auth, **fields)
    for status in ("piloting", "adopted"):
        r = await move(api, auth, tool["id"], status)
        assert r.status_code == 200, r.text
    return dict(r.json())


PASSES: dict[str, dict[str, Any]] = {
    "sso": {"result": "pass", "evidence": "Clever and Google SSO tested"},
    "accessibility": {"result": "pass", "evidence": "VPAT 2.4: WCAG 2.1 AA"},
    "cost": {"result": "pass", "evidence": "$3.10 per student per year"},
    "evidence": {"result": "pass", "evidence": "quasi-experimental study", "essa_tier": 2},
    "mobile": {"result": "pass", "evidence": "works on phones"},
}


async def rollable_tool(
    api: httpx.AsyncClient, auth: TokenFactory, app: FastAPI, district: str, **fields: Any
) -> dict[str, Any]:
    """A tool approved for pilot, passed on all six points, piloted and adopted by a pilot's decision
    (the pilots events delivered to the catalog's consumer)."""
    tool = await approved_tool(api, auth, **fields)
    for point, body in PASSES.items():
        r = await api.put(f"{BASE}/tools/{tool['id']}/checklist/{point}", json=body, headers=auth("edtech"))
        assert r.status_code == 200, r.text
    pilot_id, tool_id = uuid.uuid4(), uuid.UUID(tool["id"])
    await deliver(
        app,
        message(
            PilotStarted(
                tool_id=tool_id,
                pilot_id=pilot_id,
                teacher_ids=["t1", "t2", "t3"],
                start_date=dt.date(2026, 3, 2),
                end_date=dt.date(2026, 3, 29),
            ),
            district,
        ),
    )
    decided = PilotCompleted(
        tool_id=tool_id, pilot_id=pilot_id, decision="adopt", decided_at=dt.datetime.now(dt.UTC)
    )
    await deliver(app, message(decided, district))
    r = await api.get(f"{BASE}/tools/{tool['id']}", headers=auth("edtech"))
    assert r.json()["status"] == "adopted", r.text
    return dict(r.json())


def message(payload: EventPayload, district_id: str, *, source: str = "/edtech/tests") -> IncomingMessage:
    """A bus message carrying `payload` for `district_id`, as the consumer receives it."""
    event = CloudEvent.wrap(payload, source=source, district_id=district_id)
    return IncomingMessage(
        topic=payload.topic, partition=0, offset=next(_offsets), key=payload.key(), value=event.to_bytes()
    )


async def deliver(app: FastAPI, msg: IncomingMessage, *, times: int = 1) -> None:
    """Hand a message to the catalog's consumer `times` times (redeliveries)."""
    for _ in range(times):
        await app.state.runtime.consumer.handle_message(msg)


async def outbox_events(app: FastAPI, tool_id: str) -> list[CloudEvent]:
    """The events the catalog wrote to its outbox about a tool, in order."""
    async with app.state.runtime.db.transaction() as session:
        rows = (
            await session.execute(select(outbox).where(outbox.c.key == tool_id).order_by(outbox.c.id))
        ).all()
    return [CloudEvent.from_bytes(row.payload.encode()) for row in rows]
