"""Test-only tables, a probe event type and Kafka helpers for the shared library's tests."""

from __future__ import annotations

import asyncio
import inspect
import os
import time
from collections.abc import Callable
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRecord
from sqlalchemy import Column, Integer, MetaData, String, Table

from shared.bus.kafka import KafkaBus
from shared.db import make_metadata
from shared.events.contracts import EventPayload
from shared.events.envelope import CloudEvent
from shared.outbox import outbox_table, processed_event_table
from shared.testing import free_port

FAST_GROUP: dict[str, int] = (
    # Apache Kafka refuses sessions under group.min.session.timeout.ms (6 s by default).
    {"session_timeout_ms": 6000, "heartbeat_interval_ms": 1000, "rebalance_timeout_ms": 6000}
    if os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    else {"session_timeout_ms": 2000, "heartbeat_interval_ms": 300, "rebalance_timeout_ms": 4000}
)
"""Consumer settings that keep group joins short (Tansu makes a join wait about half the session)."""


class Probe(EventPayload):
    """A test event: `seq` numbers the events of one `item_id` (the key)."""

    name = "test.probe"
    topic = "shared-test.probe.v1"

    item_id: str
    seq: int

    def key(self) -> str:
        return self.item_id


def probe_model(topic: str) -> type[Probe]:
    """The probe event bound to a topic of one test's own."""
    return type("Probe", (Probe,), {"topic": topic, "__module__": __name__})


def schema_tables(schema: str) -> tuple[MetaData, Table, Table, Table]:
    """A test schema's metadata with its outbox, processed_event and `effect` tables."""
    metadata = make_metadata(schema)
    outbox = outbox_table(metadata)
    inbox = processed_event_table(metadata)
    effect = Table(
        "effect",
        metadata,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("event_id", String(64), nullable=False),  # deliberately not unique: a 2nd effect shows
        Column("item_id", String(100), nullable=False),
        Column("seq", Integer, nullable=False),
    )
    return metadata, outbox, inbox, effect


def record_event(record: ConsumerRecord[bytes, bytes]) -> CloudEvent:
    """The event a Kafka record carries (binary mode, or as written before it)."""
    headers = {name: value.decode() for name, value in record.headers}
    return CloudEvent.from_kafka(headers, record.value if record.value is not None else b"")


def kafka_bus(bootstrap: str, *, client_id: str = "shared-tests", partitions: int = 6) -> KafkaBus:
    """A KafkaBus for the test broker (no idempotent producer) with fast group joins."""
    return KafkaBus(
        bootstrap,
        client_id=client_id,
        enable_idempotence=False,
        partitions=partitions,
        max_backoff_s=0.5,
        consumer_options=FAST_GROUP,
        producer_options={"request_timeout_ms": 1500},
    )


async def read_topic(
    bootstrap: str, topic: str, *, count: int, timeout_s: float = 15.0, settle_s: float = 0.3
) -> list[ConsumerRecord[bytes, bytes]]:
    """Every record of `topic` from the beginning (no consumer group), once `count` have arrived.

    After `count` it keeps reading for `settle_s` so that extra records (duplicates) show too.
    """
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=None,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    records: list[ConsumerRecord[bytes, bytes]] = []
    try:
        deadline = time.monotonic() + timeout_s
        while len(records) < count and time.monotonic() < deadline:
            for batch in (await consumer.getmany(timeout_ms=200)).values():
                records.extend(batch)
        settle = time.monotonic() + settle_s
        while time.monotonic() < settle:
            for batch in (await consumer.getmany(timeout_ms=100)).values():
                records.extend(batch)
    finally:
        await consumer.stop()
    return records


async def wait_until(
    condition: Callable[[], Any],
    *,
    timeout_s: float = 15.0,
    interval_s: float = 0.05,
    what: str = "condition",
) -> Any:
    """Poll `condition` (sync or async) until it returns something truthy; fail after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while True:
        result = condition()
        if inspect.isawaitable(result):
            result = await result
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s}s waiting for {what} (last: {result!r})")
        await asyncio.sleep(interval_s)


class TcpProxy:
    """A TCP forwarder to a server (PostgreSQL here) that a test can cut and restore, same port."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = free_port()
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    async def start(self) -> TcpProxy:
        """Accept and forward connections."""
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)
        return self

    async def cut(self) -> None:
        """Drop every connection and refuse new ones (the server looks down)."""
        if self._server is not None:
            self._server.close()
            self._server = None
        for writer in list(self._writers):
            writer.close()
        self._writers.clear()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.close()
            return
        self._writers.update((writer, up_writer))
        await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()
            self._writers.discard(writer)
