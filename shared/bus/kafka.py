"""The Kafka bus (aiokafka): keyed produce with acks=all, manual commits after handling."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping, Sequence
from typing import Any

import structlog
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError

from shared.bus.base import CONSUMER_LAG, Bus, IncomingMessage, MessageHandler, OutgoingMessage
from shared.bus.security import KafkaSecurity

log = structlog.get_logger(__name__)


class KafkaBus(Bus):
    """Kafka through aiokafka. Survives the broker being down: publish raises, the caller retries."""

    def __init__(
        self,
        bootstrap_servers: str,
        *,
        client_id: str,
        acks: str = "all",
        enable_idempotence: bool = True,
        partitions: int = 6,
        replication_factor: int = 1,
        max_backoff_s: float = 5.0,
        consumer_options: Mapping[str, Any] | None = None,
        producer_options: Mapping[str, Any] | None = None,
        security: KafkaSecurity | None = None,
    ) -> None:
        self.bootstrap_servers = bootstrap_servers
        self.client_id = client_id
        # TLS and SASL for every client (producer, consumers, admin); built now so that unusable
        # certificate files stop the process at startup, not at its first event.
        self._security_options = (security or KafkaSecurity()).client_options()
        self._acks: Any = "all" if acks == "all" else int(acks)
        self._idempotence = enable_idempotence
        self._partitions = partitions
        self._replication = replication_factor
        self._max_backoff_s = max_backoff_s
        # Extra AIOKafkaConsumer arguments, e.g. session_timeout_ms (a group join waits for it).
        # A short fetch wait keeps event latency low on brokers that hold a fetch for its whole wait
        # (Tansu: ~200 ms per event at aiokafka's default of 500 ms, ~25 ms at 100 ms).
        self._consumer_options = {"fetch_max_wait_ms": 100, **(consumer_options or {})}
        # Extra AIOKafkaProducer arguments, e.g. request_timeout_ms (how long a send may wait while
        # the broker is away before the relay hears of it and backs off).
        self._producer_options = {"linger_ms": 2, "request_timeout_ms": 10_000, **(producer_options or {})}
        self._producer: AIOKafkaProducer | None = None
        self._producer_lock = asyncio.Lock()
        self._known_topics: set[str] = set()
        self._subscriptions: list[tuple[str, tuple[str, ...], MessageHandler]] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._running = False
        self._halt = asyncio.Event()  # set when stopping: cuts the pauses between retries short

    async def start(self) -> None:
        if self._running:
            return  # a second start must not add a second consumer per subscription
        self._running = True
        self._halt.clear()
        for group, topics, handler in self._subscriptions:
            self._spawn(group, topics, handler)

    async def stop_consuming(self, *, grace_s: float = 3.0) -> None:
        self._running = False
        self._halt.set()
        tasks, self._tasks = self._tasks, []
        if not tasks:
            return
        _, busy = await asyncio.wait(tasks, timeout=grace_s)
        if busy:
            log.warning("kafka_consumers_cancelled", count=len(busy), grace_s=grace_s)
        for task in busy:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    async def stop(self) -> None:
        await self.stop_consuming()
        await self._drop_producer()

    async def ensure_topics(self, topics: Sequence[str]) -> None:
        """Create missing topics (a no-op for those already there)."""
        missing = [t for t in topics if t not in self._known_topics]
        if not missing:
            return
        admin = AIOKafkaAdminClient(
            bootstrap_servers=self.bootstrap_servers, client_id=self.client_id, **self._security_options
        )
        try:
            await admin.start()
            existing = set(await admin.list_topics())
            new = [NewTopic(t, self._partitions, self._replication) for t in missing if t not in existing]
            if new:
                with contextlib.suppress(TopicAlreadyExistsError):
                    await admin.create_topics(new)
            self._known_topics.update(missing)
        finally:
            await admin.close()

    async def _get_producer(self) -> AIOKafkaProducer:
        async with self._producer_lock:
            if self._producer is None:
                producer = AIOKafkaProducer(
                    bootstrap_servers=self.bootstrap_servers,
                    client_id=self.client_id,
                    acks=self._acks,
                    enable_idempotence=self._idempotence,
                    **self._security_options,
                    **self._producer_options,
                )
                try:
                    await producer.start()
                except BaseException:
                    await producer.stop()
                    raise
                self._producer = producer
            return self._producer

    async def _drop_producer(self) -> None:
        async with self._producer_lock:
            producer, self._producer = self._producer, None
        if producer is not None:
            with contextlib.suppress(Exception):
                await producer.stop()

    async def publish(self, messages: Sequence[OutgoingMessage]) -> None:
        if not messages:
            return
        try:
            await self.ensure_topics(sorted({m.topic for m in messages}))
            producer = await self._get_producer()
            futures = [
                await producer.send(
                    m.topic,
                    value=m.value,
                    key=m.key.encode(),
                    headers=[(k, v.encode()) for k, v in m.headers.items()],
                )
                for m in messages
            ]
            await asyncio.gather(*futures)
        except (KafkaError, OSError):
            # A broken connection leaves the producer in an unknown state: start afresh next time,
            # and check the topics again (a broker that restarted may have lost them).
            self._known_topics.clear()
            await self._drop_producer()
            raise

    def subscribe(self, group: str, topics: Sequence[str], handler: MessageHandler) -> None:
        entry = (group, tuple(topics), handler)
        self._subscriptions.append(entry)
        if self._running:
            self._spawn(*entry)

    async def ping(self) -> None:
        producer = await self._get_producer()
        ok = await asyncio.wait_for(producer.client.force_metadata_update(), timeout=3)
        if not ok:
            raise ConnectionError(f"Kafka at {self.bootstrap_servers} did not answer")

    async def depth(self, topic: str) -> int:
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap_servers,
            client_id=self.client_id,
            group_id=None,
            enable_auto_commit=False,
            **self._security_options,
        )
        await consumer.start()
        try:
            if topic not in await consumer.topics():
                return 0
            partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
            if not partitions:
                return 0
            starts = await consumer.beginning_offsets(partitions)
            ends = await consumer.end_offsets(partitions)
            return sum(max(0, ends[tp] - starts[tp]) for tp in partitions)
        finally:
            await consumer.stop()

    def _spawn(self, group: str, topics: tuple[str, ...], handler: MessageHandler) -> None:
        self._tasks.append(asyncio.create_task(self._consume_forever(group, topics, handler)))

    async def _consume_forever(self, group: str, topics: tuple[str, ...], handler: MessageHandler) -> None:
        backoff = 0.2
        while self._running:
            try:
                await self._consume(group, topics, handler)
                backoff = 0.2
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if not self._running:
                    return
                log.warning("kafka_consumer_restarting", group=group, error=repr(exc), retry_in_s=backoff)
                await self._pause(backoff)
                backoff = min(backoff * 2, self._max_backoff_s)

    async def _pause(self, seconds: float) -> None:
        """Sleep, unless the bus stops first."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._halt.wait(), timeout=seconds)

    async def _consume(self, group: str, topics: tuple[str, ...], handler: MessageHandler) -> None:
        await self.ensure_topics(topics)
        consumer = AIOKafkaConsumer(
            *topics,
            bootstrap_servers=self.bootstrap_servers,
            client_id=self.client_id,
            group_id=group,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_poll_records=500,
            **self._security_options,
            **self._consumer_options,
        )
        positions: dict[TopicPartition, int] = {}  # the next offset to handle, per partition fetched
        try:
            await consumer.start()
            retry_in = 0.2
            while self._running:
                batches = await consumer.getmany(timeout_ms=200)
                for tp, records in batches.items():
                    positions[tp] = records[0].offset  # in hand: lag until handled
                _report_lag(consumer, group, positions)
                failed: Exception | None = None
                for tp, records in batches.items():
                    if not self._running:
                        break  # leaving: what is not handled goes to the next member, uncommitted
                    if failed is not None:
                        consumer.seek(tp, records[0].offset)  # not handled this round: read it again
                        continue
                    try:
                        await self._handle_partition(consumer, tp, records, handler, positions)
                    except KafkaError:
                        raise  # the consumer itself is in trouble (a commit after a rebalance): restart it
                    except Exception as exc:
                        failed = exc  # sought back to the failed message: redelivered after a pause
                _report_lag(consumer, group, positions)
                if failed is None:
                    retry_in = 0.2
                    continue
                # Retry in place rather than leave and rejoin the group: a rejoin rebalances every
                # replica (and takes seconds), for what is usually a database blip.
                log.warning("kafka_handler_failed", group=group, error=repr(failed), retry_in_s=retry_in)
                await self._pause(retry_in)
                retry_in = min(retry_in * 2, self._max_backoff_s)
        finally:
            for tp in positions:  # no longer this member's to report
                with contextlib.suppress(KeyError):
                    CONSUMER_LAG.remove(group, tp.topic, str(tp.partition))
            with contextlib.suppress(Exception):
                await consumer.stop()  # leaves the group: its partitions move on at once

    async def _handle_partition(
        self,
        consumer: AIOKafkaConsumer,
        tp: TopicPartition,
        records: list[Any],
        handler: MessageHandler,
        positions: dict[TopicPartition, int],
    ) -> None:
        done = None
        try:
            for record in records:
                if not self._running:
                    break  # stopping: commit what was handled, leave the rest
                await handler(
                    IncomingMessage(
                        topic=record.topic,
                        partition=record.partition,
                        offset=record.offset,
                        # Undecodable keys must reach the handler (and the dead letters), not
                        # crash the loop before it and block the partition.
                        key=record.key.decode(errors="replace") if record.key is not None else None,
                        value=record.value if record.value is not None else b"",
                        headers={k: v.decode(errors="replace") for k, v in (record.headers or ())},
                    )
                )
                done = record.offset
        except Exception:
            # Not handled: read it again from here (after what was done is committed).
            failed_at = records[0].offset if done is None else done + 1
            consumer.seek(tp, failed_at)
            positions[tp] = failed_at
            raise
        finally:
            if done is not None:
                await consumer.commit({tp: done + 1})
                positions[tp] = done + 1


def _report_lag(consumer: AIOKafkaConsumer, group: str, positions: dict[TopicPartition, int]) -> None:
    """Set the lag of each partition this member holds and has handled from (the broker's high
    watermark as of the last fetch, less the next offset to handle); forget partitions it lost."""
    assigned = consumer.assignment()
    for tp in list(positions):
        if tp not in assigned:
            del positions[tp]
            with contextlib.suppress(KeyError):
                CONSUMER_LAG.remove(group, tp.topic, str(tp.partition))
            continue
        highwater = consumer.highwater(tp)
        if highwater is not None:
            CONSUMER_LAG.labels(group, tp.topic, str(tp.partition)).set(max(0, highwater - positions[tp]))
