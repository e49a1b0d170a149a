"""Our Kafka records follow the CloudEvents Kafka protocol binding (binary content mode): the
CloudEvents SDK reads what the relay sent through the broker, and our consumers read the SDK's
records in both modes as well as the records written before binary mode."""

from __future__ import annotations

import datetime as dt
import uuid

import orjson
from cloudevents.core.bindings import kafka as sdk_kafka
from cloudevents.core.v1.event import CloudEvent as SdkEvent
from cloudevents.v1 import kafka as sdk_kafka_v1
from cloudevents.v1.http import CloudEvent as V1Event
from sqlalchemy import select

from shared.consumer import EventConsumer
from shared.events import CloudEvent
from shared.observability import bind_correlation_id
from shared.outbox import Outbox, OutboxRelay, ReplayRange
from tests.shared.conftest import TestSchema
from tests.shared.support import kafka_bus, probe_model, read_topic, wait_until
from tests.shared.test_consumer import effects, recording_handler

DISTRICT = "district-binding"
SOURCE = "/edtech/shared-tests"
ATTRIBUTES = ("specversion", "id", "source", "type", "subject", "datacontenttype", "dataschema", "districtid")


async def write_old_row(schema: TestSchema, topic: str, item: str, seq: int) -> CloudEvent:
    """An outbox row as the outbox wrote it before binary mode (ce_id and ce_type among its headers),
    already published."""
    event = CloudEvent.wrap(probe_model(topic)(item_id=item, seq=seq), source=SOURCE, district_id=DISTRICT)
    async with schema.db.transaction() as session:
        await session.execute(
            schema.outbox.insert().values(
                event_id=event.id,
                topic=topic,
                key=item,
                event_type=event.type,
                payload=event.to_bytes().decode(),
                headers={"ce_type": event.type, "ce_id": event.id, "district_id": DISTRICT},
                created_at=event.time,
                published_at=event.time,
            )
        )
    return event


async def test_the_sdk_reads_the_records_the_relay_sent_through_the_broker(
    test_schema: TestSchema, kafka_bootstrap: str
) -> None:
    topic = f"shared-test.binding.{uuid.uuid4().hex[:8]}"
    outbox = Outbox(test_schema.outbox, source=SOURCE)
    bind_correlation_id("req-binding-1")
    try:
        async with test_schema.db.transaction() as session:
            written = [
                await outbox.add(session, probe_model(topic)(item_id=item, seq=n), district_id=DISTRICT)
                for n, item in enumerate(("a", "b", "a"))
            ]
    finally:
        bind_correlation_id(None)
    old = await write_old_row(test_schema, topic, "c", 0)
    bus = kafka_bus(kafka_bootstrap, partitions=2)
    relay = OutboxRelay(test_schema.db, test_schema.outbox, bus, service="t")
    try:
        assert await relay.publish_pending() == 3
        async with test_schema.db.transaction() as session:
            old_id = await session.scalar(
                select(test_schema.outbox.c.id).where(test_schema.outbox.c.event_id == old.id)
            )
        assert await relay.republish(ReplayRange(from_id=old_id)) == 1  # an old row, sent again now
        records = await read_topic(kafka_bootstrap, topic, count=4)
    finally:
        await bus.stop()
    assert len(records) == 4
    expected = {e.id: e for e in [*written, old]}
    for record in records:
        headers = {name: value for name, value in record.headers}
        assert record.value is not None and record.key is not None
        # The 1.x API (cloudevents.kafka.from_binary, kept in 2.x as cloudevents.v1.kafka) ...
        v1 = sdk_kafka_v1.from_binary(sdk_kafka_v1.KafkaMessage(headers, record.key, record.value))
        # ... and the 2.x binding, which picks the content mode by itself.
        core = sdk_kafka.from_kafka_event(sdk_kafka.KafkaMessage(headers, record.key, record.value))
        ours = expected[v1["id"]]
        envelope = ours.model_dump(mode="json", exclude_none=True)
        for attribute in ATTRIBUTES:
            assert v1[attribute] == envelope[attribute], attribute
            assert core.get_attributes()[attribute] == envelope[attribute], attribute
        sent_at = core.get_time()
        assert sent_at == ours.time and sent_at is not None and sent_at.tzinfo is not None
        assert v1.get_data() == core.get_data() == ours.data
        assert record.key.decode() == ours.data["item_id"]  # the key: the payload's key, as before
        assert v1["partitionkey"] == record.key and core.get_extension("partitionkey") == ours.data["item_id"]
        # Exactly the binding: the data as the value, datacontenttype as content-type, every other
        # attribute as ce_<name>; besides them only our correlation id and a replay's time.
        assert orjson.loads(record.value) == ours.data
        assert headers["content-type"] == b"application/json" and "ce_datacontenttype" not in headers
        assert {n[3:] for n in headers if n.startswith("ce_")} == set(envelope) - {"data", "datacontenttype"}
        extra = {n for n in headers if not n.startswith("ce_") and n != "content-type"}
        if ours is old:
            assert extra == {"replayed_at"}
        else:
            assert extra == {"correlation_id"} and headers["correlation_id"] == b"req-binding-1"


async def test_consumers_read_binary_structured_and_earlier_records_from_the_broker(
    test_schema: TestSchema, kafka_bootstrap: str
) -> None:
    topic = f"shared-test.binding.{uuid.uuid4().hex[:8]}"
    group = f"binding-{uuid.uuid4().hex[:8]}"
    model = probe_model(topic)
    time = dt.datetime(2026, 3, 2, 14, 30, 5, 123456, tzinfo=dt.UTC)

    def sdk_event(seq: int) -> SdkEvent:
        return SdkEvent(
            attributes={
                "id": f"sdk-{uuid.uuid4()}",
                "source": "/another/producer",
                "type": model.event_type(),
                "time": time,
                "datacontenttype": "application/json",
                "districtid": DISTRICT,
                "partitionkey": "x",
            },
            data={"item_id": "x", "seq": seq},
        )

    binary = sdk_kafka.to_binary_event(sdk_event(1))
    structured = sdk_kafka.to_structured_event(sdk_event(2))
    v1_binary = sdk_kafka_v1.to_binary(  # the 1.x API's producer side too
        V1Event(
            {
                "id": f"v1-{uuid.uuid4()}",
                "source": "/another/producer",
                "type": model.event_type(),
                "datacontenttype": "application/json",
                "districtid": DISTRICT,
                "partitionkey": "x",
            },
            {"item_id": "x", "seq": 3},
        )
    )
    old = await write_old_row(test_schema, topic, "x", 4)  # published before: value = the envelope
    outbox = Outbox(test_schema.outbox, source=SOURCE)
    async with test_schema.db.transaction() as session:
        ours = await outbox.add(session, model(item_id="x", seq=5), district_id=DISTRICT)

    bus = kafka_bus(kafka_bootstrap, partitions=1)
    relay = OutboxRelay(test_schema.db, test_schema.outbox, bus, service="t")
    consumer = EventConsumer(
        group=group,
        db=test_schema.db,
        inbox=test_schema.inbox,
        bus=bus,
        handlers={model: recording_handler(test_schema)},
    )
    try:
        producer = await bus._get_producer()
        for message in (binary, structured, v1_binary):
            key = message.key.encode() if isinstance(message.key, str) else message.key
            await producer.send_and_wait(topic, message.value, key=key, headers=list(message.headers.items()))
        await producer.send_and_wait(
            topic,
            old.to_bytes(),
            key=b"x",
            headers=[("ce_type", old.type.encode()), ("ce_id", old.id.encode()), ("district_id", b"d")],
        )
        assert await relay.publish_pending() == 1
        consumer.attach()
        await bus.start()
        await wait_until(lambda: has_effects(test_schema, 5), timeout_s=30, what="five effects")
    finally:
        await bus.stop()
    stored = await effects(test_schema)
    assert [seq for _, seq in stored] == [1, 2, 3, 4, 5]
    assert stored[3][0] == old.id and stored[4][0] == ours.id
    assert stored[0][0].startswith("sdk-") and stored[2][0].startswith("v1-")


async def has_effects(schema: TestSchema, n: int) -> bool:
    return len(await effects(schema)) >= n
