"""The transactional outbox and its relay, on PostgreSQL and the Kafka-protocol broker."""

from __future__ import annotations

import asyncio
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Sequence

import pytest
from aiokafka import ConsumerRecord
from sqlalchemy import func, select

from shared.outbox import Outbox, OutboxRelay
from shared.testing import TansuBroker
from tests.shared.conftest import TestSchema
from tests.shared.support import kafka_bus, probe_model, read_topic, record_event, wait_until

DISTRICT = "district-outbox"


@pytest.fixture
def topic() -> str:
    return f"shared-test.outbox.{uuid.uuid4().hex[:8]}"


@pytest.fixture
async def relays() -> AsyncIterator[list[OutboxRelay]]:
    """Relays a test starts; stopped (and their buses too) at the end."""
    started: list[OutboxRelay] = []
    yield started
    for relay in started:
        await relay.stop()
        await relay.bus.stop()


async def write(schema: TestSchema, topic: str, events: Sequence[tuple[str, int]]) -> list[str]:
    """Write probe events (item_id, seq) in one transaction; returns their event ids."""
    model = probe_model(topic)
    outbox = Outbox(schema.outbox, source="/edtech/shared-tests")
    async with schema.db.transaction() as session:
        return [
            (await outbox.add(session, model(item_id=item, seq=seq), district_id=DISTRICT)).id
            for item, seq in events
        ]


def by_key(records: Sequence[ConsumerRecord[bytes, bytes]]) -> dict[str, list[int]]:
    """The seqs each key's records carry, in the order a consumer of their partition reads them."""
    seqs: dict[str, list[int]] = defaultdict(list)
    partitions: dict[str, set[int]] = defaultdict(set)
    for record in sorted(records, key=lambda r: (r.partition, r.offset)):
        event = record_event(record)
        assert record.key is not None and record.key.decode() == event.data["item_id"]
        seqs[event.data["item_id"]].append(event.data["seq"])
        partitions[event.data["item_id"]].add(record.partition)
    assert all(len(p) == 1 for p in partitions.values()), f"a key spread over partitions: {partitions}"
    return dict(seqs)


async def unpublished(schema: TestSchema) -> int:
    async with schema.db.transaction() as session:
        t = schema.outbox
        return int(await session.scalar(select(func.count()).where(t.c.published_at.is_(None))) or 0)


async def test_a_rolled_back_transaction_publishes_nothing(
    test_schema: TestSchema, kafka_bootstrap: str, topic: str
) -> None:
    bus = kafka_bus(kafka_bootstrap)
    relay = OutboxRelay(test_schema.db, test_schema.outbox, bus, service="t")
    model = probe_model(topic)
    outbox = Outbox(test_schema.outbox, source="/edtech/shared-tests")
    with pytest.raises(RuntimeError):
        async with test_schema.db.transaction() as session:
            await session.execute(test_schema.effect.insert().values(event_id="x", item_id="gone", seq=1))
            await outbox.add(session, model(item_id="gone", seq=1), district_id=DISTRICT)
            raise RuntimeError("the state change failed after its event was written")
    await write(test_schema, topic, [("kept", 1)])
    try:
        assert await relay.publish_pending() == 1
        assert await relay.publish_pending() == 0
        records = await read_topic(kafka_bootstrap, topic, count=1)
    finally:
        await bus.stop()
    assert by_key(records) == {"kept": [1]}
    async with test_schema.db.transaction() as session:
        assert (await session.execute(select(test_schema.outbox.c.key))).scalars().all() == ["kept"]
        assert (await session.execute(select(test_schema.effect))).all() == []


async def test_committed_events_are_published_in_order_per_key(
    test_schema: TestSchema, kafka_bootstrap: str, topic: str
) -> None:
    written: list[str] = []
    for seq in range(12):  # interleaved keys, one to three events per transaction
        batch = [(item, seq) for item in ("a", "b", "c")[: 1 + seq % 3]]
        written += await write(test_schema, topic, batch)
    bus = kafka_bus(kafka_bootstrap, partitions=3)
    relay = OutboxRelay(test_schema.db, test_schema.outbox, bus, service="t", batch_size=5)
    try:
        total = 0
        while published := await relay.publish_pending():
            assert published <= 5
            total += published
        records = await read_topic(kafka_bootstrap, topic, count=len(written))
    finally:
        await bus.stop()
    assert total == len(written) == 24
    expected_b = [seq for seq in range(12) if seq % 3]
    assert by_key(records) == {"a": list(range(12)), "b": expected_b, "c": list(range(2, 12, 3))}
    headers = dict((k, v.decode()) for k, v in records[0].headers)
    assert headers["ce_districtid"] == DISTRICT and headers["ce_type"] == "org.edtech.test.probe.v1"
    assert headers["ce_id"] == record_event(records[0]).id and headers["content-type"] == "application/json"
    async with test_schema.db.transaction() as session:
        t = test_schema.outbox
        rows = (await session.execute(select(t.c.event_id, t.c.published_at).order_by(t.c.id))).all()
    assert [r.event_id for r in rows] == written
    assert all(r.published_at is not None for r in rows)


async def test_a_commit_wakes_the_relay_without_waiting_for_the_poll(
    test_schema: TestSchema, kafka_bootstrap: str, topic: str, relays: list[OutboxRelay]
) -> None:
    relay = OutboxRelay(
        test_schema.db, test_schema.outbox, kafka_bus(kafka_bootstrap), service="t", poll_interval_s=60
    )
    relays.append(relay)
    relay.start()
    for seq in range(5):
        await write(test_schema, topic, [("a", seq)])
        await wait_until(
            lambda: all_published(test_schema), timeout_s=5, what=f"event {seq} relayed on commit"
        )
    records = await read_topic(kafka_bootstrap, topic, count=5)
    assert by_key(records) == {"a": [0, 1, 2, 3, 4]}


async def test_events_written_while_the_broker_is_down_all_arrive_after_it_restarts(
    test_schema: TestSchema, topic: str, relays: list[OutboxRelay], tmp_path_factory: pytest.TempPathFactory
) -> None:
    broker = TansuBroker().start()
    try:
        bus = kafka_bus(broker.bootstrap_servers)
        relay = OutboxRelay(
            test_schema.db, test_schema.outbox, bus, service="t", poll_interval_s=0.05, max_backoff_s=0.3
        )
        relays.append(relay)
        relay.start()
        await write(test_schema, topic, [("a", 0)])
        await wait_until(lambda: all_published(test_schema), what="the first event published")

        crash(broker)
        for seq in range(1, 11):  # requests keep succeeding: their events wait in the outbox
            await write(test_schema, topic, [("a", seq), ("b", seq)])
        await wait_until(lambda: _failed_attempts(test_schema), what="the relay to fail against the broker")
        assert await unpublished(test_schema) == 20

        broker = TansuBroker(broker.port).start()  # same address; its in-memory log starts empty
        await wait_until(lambda: all_published(test_schema), timeout_s=30, what="the backlog relayed")
        records = await read_topic(broker.bootstrap_servers, topic, count=20)
    finally:
        crash(broker)
    seqs = by_key(records)
    assert seqs == {"a": list(range(1, 11)), "b": list(range(1, 11))}  # each once, in order
    async with test_schema.db.transaction() as session:
        t = test_schema.outbox
        rows = (await session.execute(select(t.c.published_at, t.c.attempts))).all()
    assert len(rows) == 21 and all(r.published_at is not None for r in rows)


async def test_two_relays_on_one_schema_keep_each_keys_order(
    test_schema: TestSchema, kafka_bootstrap: str, topic: str, relays: list[OutboxRelay]
) -> None:
    second_db = test_schema.database()  # a second replica of the same service
    try:
        for n, db in enumerate((test_schema.db, second_db)):
            relay = OutboxRelay(
                db,
                test_schema.outbox,
                kafka_bus(kafka_bootstrap, partitions=2),
                service=f"r{n}",
                batch_size=3,
                poll_interval_s=0.01,
            )
            relays.append(relay)
            relay.start()

        async def writer(item: str) -> None:
            for seq in range(25):
                await write(test_schema, topic, [(item, seq)])
                await asyncio.sleep(0)

        await asyncio.gather(*(writer(item) for item in ("a", "b", "c", "d")))
        await wait_until(lambda: all_published(test_schema), what="everything relayed")
        records = await read_topic(kafka_bootstrap, topic, count=100)
    finally:
        await second_db.dispose()
    assert by_key(records) == {item: list(range(25)) for item in ("a", "b", "c", "d")}


def crash(broker: TansuBroker) -> None:
    """Kill the broker at once (a graceful stop waits seconds for its clients to leave)."""
    if broker.process is not None:
        broker.process.kill()
        broker.process.wait()
        broker.process = None


async def all_published(schema: TestSchema) -> bool:
    return await unpublished(schema) == 0


async def _failed_attempts(schema: TestSchema) -> bool:
    async with schema.db.transaction() as session:
        return bool(await session.scalar(select(func.max(schema.outbox.c.attempts))))
