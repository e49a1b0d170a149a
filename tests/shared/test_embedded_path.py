"""The embedded default's event path: SQLite files and the in-process bus, outbox to stored effect."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import Table, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.bus import IncomingMessage, MemoryBus
from shared.consumer import EventConsumer
from shared.db import Database
from shared.events import CloudEvent
from shared.observability import bind_correlation_id, current_correlation_id
from shared.outbox import Outbox, OutboxRelay
from tests.shared.support import Probe, probe_model, schema_tables, wait_until

TOPIC = "shared-test.embedded.v1"


@pytest.fixture
async def sqlite_db(tmp_path: Path) -> AsyncIterator[tuple[Database, Table, Table, Table]]:
    _, outbox, inbox, effect = tables = schema_tables("shared_test")
    db = Database(f"sqlite+aiosqlite:///{tmp_path}/shared_test.db", "shared_test", pool_size=3)
    async with db.engine.begin() as conn:
        await conn.run_sync(tables[0].create_all)
    yield db, outbox, inbox, effect
    await db.dispose()


async def test_outbox_to_effect_on_sqlite_and_the_memory_bus(
    sqlite_db: tuple[Database, Table, Table, Table],
) -> None:
    db, outbox_t, inbox, effect = sqlite_db
    bus = MemoryBus(redelivery_delay_s=0.01)
    model = probe_model(TOPIC)
    outbox = Outbox(outbox_t, source="/edtech/shared-tests")
    seen_correlation: list[str | None] = []

    async def on_probe(event: CloudEvent, payload: Probe, session: AsyncSession) -> None:
        seen_correlation.append(current_correlation_id())
        await session.execute(
            effect.insert().values(event_id=event.id, item_id=payload.item_id, seq=payload.seq)
        )

    consumer = EventConsumer(group="g", db=db, inbox=inbox, bus=bus, handlers={model: on_probe})
    relay = OutboxRelay(db, outbox_t, bus, service="embedded", poll_interval_s=0.05)
    consumer.attach()
    await bus.start()
    relay.start()
    try:
        bind_correlation_id("req-42")
        with pytest.raises(RuntimeError):
            async with db.transaction() as session:
                await outbox.add(session, model(item_id="a", seq=0), district_id="d1")
                raise RuntimeError("rolled back")
        for seq in range(1, 6):
            async with db.transaction() as session:
                await outbox.add(session, model(item_id="a", seq=seq), district_id="d1")
        bind_correlation_id(None)

        async def stored() -> list[int]:
            async with db.transaction() as session:
                return list((await session.execute(select(effect.c.seq).order_by(effect.c.id))).scalars())

        async def five_stored() -> bool:
            return len(await stored()) == 5

        await wait_until(five_stored, timeout_s=10, what="five effects")
        assert await relay.pending_count() == 0
        redelivered = bus.messages(TOPIC)[2]
        await consumer.handle_message(
            IncomingMessage(TOPIC, 0, 2, redelivered.key, redelivered.value, dict(redelivered.headers))
        )
    finally:
        await relay.stop()
        await bus.stop()
    assert await stored() == [1, 2, 3, 4, 5]  # in order, once each, nothing of the rolled-back one
    assert [m.headers["correlation_id"] for m in bus.messages(TOPIC)] == ["req-42"] * 5
    assert seen_correlation == ["req-42"] * 5  # the request's id crossed the bus to the consumer
