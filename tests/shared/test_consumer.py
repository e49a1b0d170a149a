"""The consumer runner on PostgreSQL and the broker: one effect per event, crash safety, dead letters."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path

from aiokafka import AIOKafkaProducer
from sqlalchemy import select
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession

from shared.bus import IncomingMessage, MemoryBus, MessageHandler, OutgoingMessage
from shared.bus.kafka import KafkaBus
from shared.consumer import DatabaseUnavailable, EventConsumer, Handler
from shared.db import Database
from shared.events import CloudEvent
from shared.events.topics import dead_letter_topic
from tests.shared.conftest import TestSchema
from tests.shared.support import Probe, TcpProxy, kafka_bus, probe_model, read_topic, wait_until

REPO = Path(__file__).resolve().parents[2]
DISTRICT = "district-consumer"


def probe_event(topic: str, item: str, seq: int) -> CloudEvent:
    return CloudEvent.wrap(
        probe_model(topic)(item_id=item, seq=seq), source="/edtech/shared-tests", district_id=DISTRICT
    )


def as_message(event: CloudEvent, topic: str, *, key: str = "x") -> OutgoingMessage:
    return OutgoingMessage(topic=topic, key=key, value=event.to_bytes(), headers={"ce_id": event.id})


async def effects(schema: TestSchema) -> list[tuple[str, int]]:
    """(event id, seq) of every stored effect, in the order they were stored."""
    async with schema.db.transaction() as session:
        e = schema.effect
        return [
            (r.event_id, r.seq) for r in await session.execute(select(e.c.event_id, e.c.seq).order_by(e.c.id))
        ]


def recording_handler(schema: TestSchema, *, fail_on: int | None = None) -> Handler:
    async def on_probe(event: CloudEvent, payload: Probe, session: AsyncSession) -> None:
        await session.execute(
            schema.effect.insert().values(event_id=event.id, item_id=payload.item_id, seq=payload.seq)
        )
        if payload.seq == fail_on:
            raise RuntimeError(f"cannot apply seq {payload.seq}")

    return on_probe


async def test_a_redelivered_event_has_one_effect(test_schema: TestSchema) -> None:
    topic = f"shared-test.consumer.{uuid.uuid4().hex[:8]}"
    consumer = EventConsumer(
        group="g",
        db=test_schema.db,
        inbox=test_schema.inbox,
        bus=MemoryBus(),
        handlers={probe_model(topic): recording_handler(test_schema)},
    )
    event = probe_event(topic, "x", 1)
    message = IncomingMessage(topic=topic, partition=0, offset=7, key="x", value=event.to_bytes())
    await consumer.handle_message(message)
    await consumer.handle_message(message)  # redelivered
    await consumer.handle_message(
        IncomingMessage(topic=topic, partition=0, offset=9, key="x", value=event.to_bytes())
    )  # the same event published twice
    assert await effects(test_schema) == [(event.id, 1)]
    other = EventConsumer(
        group="other",
        db=test_schema.db,
        inbox=test_schema.inbox,
        bus=MemoryBus(),
        handlers={probe_model(topic): recording_handler(test_schema)},
    )
    await other.handle_message(message)  # each consumer group applies it once
    assert await effects(test_schema) == [(event.id, 1), (event.id, 1)]


async def test_a_failing_handler_leaves_no_partial_effect(test_schema: TestSchema) -> None:
    topic = f"shared-test.consumer.{uuid.uuid4().hex[:8]}"
    bus = MemoryBus()
    consumer = EventConsumer(
        group="g",
        db=test_schema.db,
        inbox=test_schema.inbox,
        bus=bus,
        retry_backoff_s=0,
        max_attempts=2,
        handlers={probe_model(topic): recording_handler(test_schema, fail_on=1)},
    )
    event = probe_event(topic, "x", 1)
    await consumer.handle_message(
        IncomingMessage(topic=topic, partition=0, offset=0, key="x", value=event.to_bytes())
    )
    assert await effects(test_schema) == []  # each attempt rolled back, effect and inbox row alike
    async with test_schema.db.transaction() as session:
        assert (await session.execute(select(test_schema.inbox))).all() == []
    [dead] = bus.messages(dead_letter_topic("g"))
    assert dead.value == event.to_bytes() and "cannot apply seq 1" in dead.headers["dlq_error"]


async def test_a_consumer_killed_after_its_commit_applies_nothing_twice(
    test_schema: TestSchema, kafka_bootstrap: str, tmp_path: Path
) -> None:
    topic = f"shared-test.crash.{uuid.uuid4().hex[:8]}"
    events = [probe_event(topic, "x", seq) for seq in range(1, 6)]
    bus = kafka_bus(kafka_bootstrap, partitions=1)
    try:
        await bus.publish([as_message(e, topic) for e in events])
    finally:
        await bus.stop()
    env = {
        **os.environ,
        "TEST_DATABASE_URL": test_schema.url,
        "TEST_SCHEMA": test_schema.name,
        "TEST_BOOTSTRAP": kafka_bootstrap,
        "TEST_TOPIC": topic,
        "TEST_GROUP": f"crash-{uuid.uuid4().hex[:8]}",
    }

    def run(name: str, **extra: str) -> tuple[subprocess.Popen[bytes], Path]:
        out = tmp_path / f"{name}.log"
        with out.open("wb") as sink:
            process = subprocess.Popen(
                [sys.executable, "-m", "tests.shared.consumer_process"],
                cwd=REPO,
                env={**env, **extra},
                stdout=sink,
                stderr=subprocess.STDOUT,
            )
        return process, out

    first, first_log = run("first", KILL_AT_SEQ="3")
    try:
        assert first.wait(timeout=30) == -signal.SIGKILL, first_log.read_text()
    finally:
        first.kill()
    assert "killing after commit of seq 3" in first_log.read_text()
    assert [seq for _, seq in await effects(test_schema)] == [1, 2, 3]  # seq 3 committed, its offset not

    second, second_log = run("second")
    try:
        await wait_until(lambda: has_effects(test_schema, 5), timeout_s=30, what="the remaining effects")
        await wait_until(lambda: f"delivered {events[4].id}" in second_log.read_text(), what="the log line")
    finally:
        second.kill()
        second.wait()
    assert f"delivered {events[2].id}" in second_log.read_text()  # seq 3 came again ...
    assert await effects(test_schema) == [
        (e.id, seq) for seq, e in enumerate(events, 1)
    ]  # ... with no 2nd effect
    async with test_schema.db.transaction() as session:
        remembered = (await session.execute(select(test_schema.inbox.c.event_id))).scalars().all()
    assert sorted(remembered) == sorted(e.id for e in events)


async def test_poison_messages_go_to_the_dead_letter_topic_and_the_partition_keeps_flowing(
    test_schema: TestSchema, kafka_bootstrap: str
) -> None:
    topic = f"shared-test.poison.{uuid.uuid4().hex[:8]}"
    group = f"poison-{uuid.uuid4().hex[:8]}"
    bus = kafka_bus(kafka_bootstrap, partitions=1)
    consumer = EventConsumer(
        group=group,
        db=test_schema.db,
        inbox=test_schema.inbox,
        bus=bus,
        max_attempts=2,
        retry_backoff_s=0.01,
        handlers={probe_model(topic): recording_handler(test_schema, fail_on=4)},
    )
    first, last = probe_event(topic, "x", 1), probe_event(topic, "x", 5)
    invalid = CloudEvent(
        source="/edtech/shared-tests",
        type=Probe.event_type(),
        districtid=DISTRICT,
        data={"item_id": "x", "seq": "not a number"},
    )
    poison = [
        OutgoingMessage(topic, "x", b"{not json", {"correlation_id": "c-1"}),
        as_message(invalid, topic),
        as_message(probe_event(topic, "x", 4), topic),  # its handler always raises
    ]
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, enable_idempotence=False)
    try:
        await bus.publish([as_message(first, topic), *poison, as_message(first, topic)])
        await producer.start()
        await producer.send_and_wait(topic, b"\x00binary", key=b"\xff\xfe not utf-8")  # offset 5
        await bus.publish([as_message(last, topic)])
        consumer.attach()
        await bus.start()
        await wait_until(lambda: has_effects(test_schema, 2), timeout_s=20, what="the last event's effect")
        dead = await read_topic(kafka_bootstrap, dead_letter_topic(group), count=4)
    finally:
        await producer.stop()
        await bus.stop()
    assert await effects(test_schema) == [(first.id, 1), (last.id, 5)]  # the duplicate of `first` skipped
    assert [r.value for r in dead] == [*(m.value for m in poison), b"\x00binary"]
    headers = [{k: v.decode() for k, v in r.headers} for r in dead]
    assert [h["dlq_original_offset"] for h in headers] == ["1", "2", "3", "5"]
    for h in headers:
        assert h["dlq_original_topic"] == topic and h["dlq_original_partition"] == "0"
        assert h["dlq_consumer_group"] == group and h["dlq_failed_at"]
    assert headers[0]["dlq_error"].startswith("JSONDecodeError") and headers[0]["correlation_id"] == "c-1"
    assert headers[1]["dlq_error"].startswith("ValidationError") and "seq" in headers[1]["dlq_error"]
    assert headers[2]["dlq_error"] == "RuntimeError: cannot apply seq 4"
    assert [r.key for r in dead[:3]] == [b"x"] * 3


async def test_two_replicas_in_one_group_apply_each_event_once_in_order(
    test_schema: TestSchema, kafka_bootstrap: str
) -> None:
    topic = f"shared-test.replicas.{uuid.uuid4().hex[:8]}"
    group = f"replicas-{uuid.uuid4().hex[:8]}"
    keys = ("a", "b", "d", "f")  # keys that land on both partitions of a two-partition topic
    handled_by: dict[str, set[str]] = {"r1": set(), "r2": set()}
    replicas: list[tuple[Database, KafkaBus]] = []
    for name, seen in handled_by.items():
        db = test_schema.database()
        bus = kafka_bus(kafka_bootstrap, client_id=name, partitions=2)
        consumer = EventConsumer(
            group=group,
            db=db,
            inbox=test_schema.inbox,
            bus=bus,
            handlers={probe_model(topic): recording_handler(test_schema)},
        )
        bus.subscribe(group, consumer.topics, _noting_keys(consumer, seen))
        replicas.append((db, bus))
    publisher = kafka_bus(kafka_bootstrap, partitions=2)
    events = {key: [probe_event(topic, key, seq) for seq in range(15)] for key in keys}

    async def publish(seqs: range) -> None:
        await publisher.publish(
            [as_message(events[key][seq], topic, key=key) for seq in seqs for key in keys]
        )

    async def applied(n: int) -> bool:
        return len([item for _, item in await effect_items(test_schema) if item != "warm-up"]) >= n

    try:
        for _, bus in replicas:
            await bus.start()

        async def both_assigned() -> bool:  # warm-up events until the group has settled on both replicas
            await publisher.publish(
                [as_message(probe_event(topic, "warm-up", 0), topic, key=k) for k in keys]
            )
            await asyncio.sleep(0.2)
            return all(handled_by.values())

        await wait_until(both_assigned, timeout_s=20, what="both replicas to hold a partition")
        await publish(range(8))
        await wait_until(lambda: applied(32), timeout_s=20, what="the first 32 effects")
        await replicas[1][1].stop()  # a replica leaves: the other takes over its partition
        await publish(range(8, 15))
        await wait_until(lambda: applied(60), timeout_s=30, what="all sixty effects")
    finally:
        for db, bus in replicas:
            await bus.stop()
            await db.dispose()
        await publisher.stop()
    assert handled_by["r1"] == set(keys)  # r1 ended up with both partitions
    async with test_schema.db.transaction() as session:
        e = test_schema.effect
        rows = (await session.execute(select(e.c.item_id, e.c.seq, e.c.event_id).order_by(e.c.id))).all()
    main = [r for r in rows if r.item_id != "warm-up"]
    assert len(main) == 60 and len({r.event_id for r in main}) == 60  # each event applied once
    for key in keys:
        assert [r.seq for r in main if r.item_id == key] == list(range(15))  # in order per key


def _noting_keys(consumer: EventConsumer, seen: set[str]) -> MessageHandler:
    async def handler(message: IncomingMessage) -> None:
        seen.add(message.key or "")
        await consumer.handle_message(message)

    return handler


async def effect_items(schema: TestSchema) -> list[tuple[str, str]]:
    """(event id, item id) of every stored effect."""
    async with schema.db.transaction() as session:
        e = schema.effect
        return [(r.event_id, r.item_id) for r in await session.execute(select(e.c.event_id, e.c.item_id))]


async def test_a_database_outage_is_not_a_poison_message(test_schema: TestSchema) -> None:
    topic = f"shared-test.outage.{uuid.uuid4().hex[:8]}"
    url = make_url(test_schema.url)
    proxy = await TcpProxy(url.host or "127.0.0.1", url.port or 5432).start()
    db = Database(
        url.set(port=proxy.port).render_as_string(hide_password=False), test_schema.name, pool_size=2
    )
    bus = MemoryBus(redelivery_delay_s=0.05)
    consumer = EventConsumer(
        group="g",
        db=db,
        inbox=test_schema.inbox,
        bus=bus,
        max_attempts=2,
        retry_backoff_s=0.01,
        handlers={probe_model(topic): recording_handler(test_schema)},
    )
    raised: list[Exception] = []

    async def deliver(message: IncomingMessage) -> None:
        try:
            await consumer.handle_message(message)
        except Exception as exc:
            raised.append(exc)
            raise

    bus.subscribe("g", consumer.topics, deliver)
    event = probe_event(topic, "x", 1)
    try:
        await proxy.cut()
        await bus.start()
        await bus.publish([as_message(event, topic)])
        await wait_until(lambda: len(raised) >= 3, what="deliveries failing while the database is away")
        assert all(isinstance(exc, DatabaseUnavailable) for exc in raised)
        assert await effects(test_schema) == []
        await proxy.start()  # the database is back
        await wait_until(lambda: has_effects(test_schema, 1), what="the effect once the database is back")
    finally:
        await bus.stop()
        await proxy.cut()
        await db.dispose()
    assert await effects(test_schema) == [(event.id, 1)]
    assert bus.messages(dead_letter_topic("g")) == []  # a good event is not parked as poison


async def has_effects(schema: TestSchema, n: int) -> bool:
    return len(await effects(schema)) >= n
