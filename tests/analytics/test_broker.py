"""Analytics on the real broker: consumes pilot-started from Kafka, publishes a signal once."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
import uuid
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer

from shared.bus import OutgoingMessage
from shared.bus.kafka import KafkaBus
from shared.events import CloudEvent, PilotStarted
from shared.events.topics import ANALYTICS_SIGNALS
from tests.analytics.dataset import adopt, ev, licensed, noon, post_events
from tests.analytics.roster_data import upload
from tests.fixtures.auth import TokenFactory
from tests.fixtures.services import AppFactory


async def records_with_key(
    bootstrap: str, topic: str, key: str, *, settle_s: float = 2.0
) -> list[CloudEvent]:
    """Every record of `topic` keyed `key`, read from the beginning until nothing new comes for a while."""
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, group_id=None, auto_offset_reset="earliest"
    )
    await consumer.start()
    found: list[CloudEvent] = []
    try:
        deadline = time.monotonic() + 20
        quiet_until = time.monotonic() + settle_s
        while time.monotonic() < deadline and (not found or time.monotonic() < quiet_until):
            for batch in (await consumer.getmany(timeout_ms=200)).values():
                for record in batch:
                    if record.key == key.encode():
                        headers = {name: value.decode() for name, value in record.headers}
                        found.append(CloudEvent.from_kafka(headers, record.value))
                        quiet_until = time.monotonic() + settle_s
    finally:
        await consumer.stop()
    return found


async def wait_for(check: Any, timeout_s: float = 30) -> Any:
    """Poll an async check until it returns something truthy."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        result = await check()
        if result:
            return result
        await asyncio.sleep(0.2)
    raise AssertionError("condition not met in time")


async def test_consumes_from_and_publishes_to_kafka(
    service_app: AppFactory, kafka_bootstrap: str, auth: TokenFactory, district: str
) -> None:
    overrides: dict[str, Any] = {
        "workers_enabled": True,
        "bus_backend": "kafka",
        "kafka_bootstrap_servers": kafka_bootstrap,
        "kafka_enable_idempotence": False,
        "outbox_poll_interval_s": 0.1,
    }
    async with service_app("analytics", **overrides) as (app, client):
        tool = uuid.uuid4()
        pilot = uuid.uuid4()
        producer = KafkaBus(kafka_bootstrap, client_id="analytics-test", enable_idempotence=False)
        await producer.start()
        try:
            started = PilotStarted(
                tool_id=tool,
                pilot_id=pilot,
                teacher_ids=["t1"],
                start_date=dt.date(2026, 1, 5),
                end_date=dt.date(2026, 2, 1),
            )
            event = CloudEvent.wrap(started, source="/edtech/pilots", district_id=district)
            message = OutgoingMessage(topic=started.topic, key=started.key(), value=event.to_bytes())
            await producer.publish([message, message])  # delivered twice: applied once

            async def usage() -> httpx.Response | None:
                r = await client.get(f"/api/analytics/pilots/{pilot}/usage", headers=auth("edtech"))
                return r if r.status_code == 200 else None

            assert (await wait_for(usage)).json()["teachers"][0]["teacher_id"] == "t1"
        finally:
            await producer.stop()

        await client.put(
            "/api/analytics/settings",
            headers=auth("edtech"),
            json={"window_anchor": "2026-01-01", "evaluation_window_days": 28},
        )
        assert (await upload(client, auth("edtech"))).status_code == 200
        integration = (
            await client.post(
                "/api/analytics/integrations",
                headers=auth("edtech"),
                json={"name": "LMS", "tool_id": str(tool)},
            )
        ).json()
        await post_events(client, integration, [ev("s1", "login", "2026-01-10")], app.state.runtime)
        await licensed(app.state.runtime, str(tool), district, seats=3, teacher_seats=2)
        await adopt(app.state.runtime, str(tool), district, on=dt.date(2025, 12, 15))
        app.state.runtime.clock.set(noon(dt.date(2026, 2, 1)))
        for _ in range(2):
            r = await client.post("/api/analytics/signals/evaluate", headers=auth("edtech"))
            assert r.status_code == 200, r.text
        published = await records_with_key(kafka_bootstrap, ANALYTICS_SIGNALS, str(tool))
    assert sorted(e.type for e in published) == [
        "org.edtech.license.dormant.v1",
        "org.edtech.license.seats_used.v1",
        "org.edtech.utilization.dropped.v1",
    ]
    assert all(e.districtid == district for e in published)
