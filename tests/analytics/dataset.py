"""A crafted usage data set whose dashboard figures are computed by hand in the tests.

Roster (roster_data): t1 teaches Math 5 (s1, s2) at sch-1; t2 teaches Science 6 (s3, s4) at sch-2.
Tool A (10 seats at $20) is used through one integration, tool B (5 seats at $10, 4 teacher seats)
through another. `ghost` is not rostered.
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
from dataclasses import dataclass
from typing import Any

import httpx
import orjson
from sqlalchemy import select

from services.analytics.counting.service import count_all, regroup_due
from services.analytics.ingest.signing import signed_headers
from services.analytics.models import UsageEvent
from shared.bus import IncomingMessage
from shared.events import (
    CloudEvent,
    EventPayload,
    LicenseRecorded,
    TamAnswered,
    TamCount,
    ToolRegistered,
    ToolStatusChanged,
)
from tests.analytics.roster_data import upload
from tests.fixtures.auth import TokenFactory


def ev(
    user: str, kind: str, day: str, *, feature: str | None = None, duration_s: float | None = None
) -> dict[str, Any]:
    """A platform event at 10:00 UTC on `day`."""
    out: dict[str, Any] = {
        "event_id": uuid.uuid4().hex,
        "type": kind,
        "occurred_at": f"{day}T10:00:00Z",
        "user_id": user,
    }
    if feature:
        out["feature"] = feature
    if duration_s is not None:
        out["duration_s"] = duration_s
    return out


TOOL_A_EVENTS = [
    # logins, week of 2026-03-02
    ev("s1", "login", "2026-03-02"),
    ev("s1", "login", "2026-03-03"),
    ev("s2", "login", "2026-03-02"),
    ev("t1", "login", "2026-03-04"),
    ev("s3", "login", "2026-03-03"),
    ev("s4", "login", "2026-03-05"),
    ev("ghost", "login", "2026-03-05"),
    # logins, week of 2026-03-09
    ev("s1", "login", "2026-03-10"),
    # assignments
    ev("s1", "assignment_started", "2026-03-02"),
    ev("s1", "assignment_started", "2026-03-03"),
    ev("s1", "assignment_submitted", "2026-03-03"),
    ev("s1", "assignment_submitted", "2026-03-04"),
    ev("s2", "assignment_started", "2026-03-02"),
    ev("s2", "assignment_started", "2026-03-03"),
    ev("s2", "assignment_submitted", "2026-03-04"),
    ev("s3", "assignment_started", "2026-03-04"),
    # features
    ev("s1", "feature_used", "2026-03-02", feature="quiz"),
    ev("s1", "feature_used", "2026-03-03", feature="quiz"),
    ev("s2", "feature_used", "2026-03-04", feature="quiz"),
    ev("s1", "feature_used", "2026-03-11", feature="quiz"),
    ev("t1", "feature_used", "2026-03-10", feature="whiteboard"),
    # time in tool, and t2's use of A in February (adoption, not March utilization)
    ev("t1", "time_in_tool", "2026-03-04", duration_s=600),
    ev("t2", "login", "2026-02-10"),
]
TOOL_B_EVENTS = [ev("t2", "login", "2026-03-03")]


@dataclass
class Dataset:
    """Ids of the crafted data set."""

    tool_a: str
    tool_b: str


async def integration_events(app: Any, integration_id: str) -> list[UsageEvent]:
    """The events an integration's deliveries stored, oldest first."""
    async with app.state.runtime.db.transaction() as session:
        rows = await session.scalars(
            select(UsageEvent)
            .where(UsageEvent.integration_id == uuid.UUID(integration_id))
            .order_by(UsageEvent.occurred_at, UsageEvent.event_id)
        )
        return list(rows.all())


async def settle(runtime: Any) -> None:
    """Count every pending event and run the regroups asked for, as the workers would."""
    await count_all(runtime.db)
    await regroup_due(runtime.db)


async def send_events(
    client: httpx.AsyncClient, integration: dict[str, Any], events: list[dict[str, Any]]
) -> None:
    """Post a signed batch of platform events as an LMS would; check everything was accepted."""
    body = orjson.dumps({"events": events})
    headers = signed_headers(integration["secret"], f"msg_{uuid.uuid4().hex}", int(time.time()), body)
    r = await client.post(
        f"/api/analytics/webhooks/{integration['id']}/events",
        content=body,
        headers={**headers, "content-type": "application/json"},
    )
    assert r.status_code == 200, r.text
    assert r.json()["accepted"] == len(events)


async def post_events(
    client: httpx.AsyncClient, integration: dict[str, Any], events: list[dict[str, Any]], runtime: Any
) -> None:
    """Post a signed batch, check everything was accepted, and count it."""
    await send_events(client, integration, events)
    await settle(runtime)


async def deliver(runtime: Any, payload: EventPayload, district: str) -> IncomingMessage:
    """Feed one event to the analytics consumer (returns the message, to redeliver it)."""
    event = CloudEvent.wrap(payload, source="/edtech/test", district_id=district)
    message = IncomingMessage(
        topic=payload.topic, partition=0, offset=1, key=payload.key(), value=event.to_bytes()
    )
    await runtime.consumer.handle_message(message)
    return message


async def adopt(runtime: Any, tool_id: str, district: str, *, on: dt.date, name: str = "Kami") -> None:
    """The catalog's word that the tool was adopted on `on` (a `tool-status-changed` event)."""
    await deliver(
        runtime,
        ToolStatusChanged(
            tool_id=uuid.UUID(tool_id),
            tool_name=name,
            from_status="piloting",
            to_status="adopted",
            changed_at=noon(on),
        ),
        district,
    )


async def licensed(
    runtime: Any,
    tool_id: str,
    district: str,
    *,
    seats: int,
    cost_per_seat: float = 0.0,
    teacher_seats: int | None = None,
    starts_on: dt.date = dt.date(2025, 7, 1),
    ends_on: dt.date = dt.date(2027, 6, 30),
    license_id: uuid.UUID | None = None,
) -> IncomingMessage:
    """The catalog's word that the district licensed the tool (a `license-recorded` event)."""
    return await deliver(
        runtime,
        LicenseRecorded(
            tool_id=uuid.UUID(tool_id),
            license_id=license_id or uuid.uuid4(),
            seats=seats,
            teacher_seats=teacher_seats,
            price_total=cost_per_seat * seats,
            term_start=starts_on,
            term_end=ends_on,
            recorded_at=dt.datetime.now(dt.UTC),
        ),
        district,
    )


def noon(day: dt.date) -> dt.datetime:
    """Noon (UTC) of `day`: where tests set a service clock."""
    return dt.datetime.combine(day, dt.time(12), tzinfo=dt.UTC)


async def build(client: httpx.AsyncClient, runtime: Any, auth: TokenFactory, district: str) -> Dataset:
    """Load the roster, two tools with licenses, their usage, and tool names."""
    assert (await upload(client, auth("edtech"))).status_code == 200
    tool_a, tool_b = str(uuid.uuid4()), str(uuid.uuid4())
    for tool, events in ((tool_a, TOOL_A_EVENTS), (tool_b, TOOL_B_EVENTS)):
        r = await client.post(
            "/api/analytics/integrations", headers=auth("edtech"), json={"name": "LMS", "tool_id": tool}
        )
        await post_events(client, r.json(), events, runtime)
    await licensed(runtime, tool_a, district, seats=10, cost_per_seat=20.0)
    await licensed(runtime, tool_b, district, seats=5, cost_per_seat=10.0, teacher_seats=4)
    await deliver(
        runtime, ToolRegistered(tool_id=uuid.UUID(tool_a), tool_name="Desmos", status="adopted"), district
    )
    return Dataset(tool_a=tool_a, tool_b=tool_b)


def day(text: str) -> dt.date:
    """A date from ISO text."""
    return dt.date.fromisoformat(text)


def tam_answer(
    tool_id: str, pilot_id: uuid.UUID, teacher: str, phase: str, positive: int, when: str
) -> TamAnswered:
    """A teacher's answer to pilots' TAM survey: 10 items on 1-5, `positive` of them at 4 or more."""
    return TamAnswered(
        tool_id=uuid.UUID(tool_id),
        pilot_id=pilot_id,
        teacher_id=teacher,
        phase=phase,
        overall=TamCount(answers=10, positive=positive),
        scale_min=1,
        scale_max=5,
        threshold=4,
        buy_in_target=0.85,
        answered_at=dt.datetime.fromisoformat(f"{when}T12:00:00+00:00"),
    )
