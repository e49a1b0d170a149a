"""Dead letters: the messages a service's consumers gave up on, read from the group's dead-letter
topic (`edtech.dlq.<service>.v1`) and sent back to where they came from after a fix.

A dead letter keeps the original key, value and headers (the CloudEvents `ce_` headers among them)
plus `dlq_*` headers saying where it was read and why it failed (docs/events.md). A replay publishes
the key, the value and the original headers to `dlq_original_topic`, with `dlq_replayed_from`
naming the dead letter: the group that failed applies the event, and every group that had applied
it already skips it by its id. The dead letter stays in its topic (a log), so replaying it twice
is harmless. These run with a service's own settings (its Kafka, TLS and SASL), on its machine.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from aiokafka import AIOKafkaConsumer, TopicPartition

from shared.bus import OutgoingMessage, bus_for
from shared.events.envelope import CloudEvent
from shared.events.topics import dead_letter_topic

if TYPE_CHECKING:
    from shared.config import ServiceSettings

DLQ_PREFIX = "dlq_"


@dataclass(frozen=True)
class DeadLetter:
    """One message of a dead-letter topic."""

    partition: int
    offset: int
    key: str | None
    value: bytes
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def ref(self) -> str:
        """How commands name it: `<partition>:<offset>` in the dead-letter topic."""
        return f"{self.partition}:{self.offset}"

    @property
    def original_topic(self) -> str:
        """The topic it was read from when its consumer gave up."""
        return self.headers.get("dlq_original_topic", "")

    @property
    def error(self) -> str:
        """Why the consumer gave up."""
        return self.headers.get("dlq_error", "")

    @property
    def failed_at(self) -> str:
        """When the consumer gave up (RFC 3339)."""
        return self.headers.get("dlq_failed_at", "")

    def event(self) -> CloudEvent | None:
        """The event it carries, if it parses (a poison message may not)."""
        try:
            return CloudEvent.from_kafka(self.headers, self.value)
        except Exception:
            return None

    def replay_message(self) -> OutgoingMessage:
        """The message a replay publishes: the original key, value and headers, to the original topic."""
        if not self.original_topic:
            raise ValueError(f"dead letter {self.ref} does not say which topic it came from")
        headers = {k: v for k, v in self.headers.items() if not k.startswith(DLQ_PREFIX)}
        headers["dlq_replayed_from"] = self.ref
        return OutgoingMessage(
            topic=self.original_topic, key=self.key or "", value=self.value, headers=headers
        )


def _kafka_only(settings: ServiceSettings, service: str) -> None:
    if settings.bus_backend == "memory":
        raise ValueError(
            f"{service} runs on the in-process bus ({service.upper()}_BUS_BACKEND=memory): its dead "
            "letters live in that process only"
        )


async def read_dead_letters(
    settings: ServiceSettings, service: str, *, timeout_s: float = 30.0
) -> list[DeadLetter]:
    """Every message of `service`'s dead-letter topic, oldest first per partition (none if the
    topic does not exist)."""
    _kafka_only(settings, service)
    topic = dead_letter_topic(service)
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        client_id=f"{service}-dead-letters",
        group_id=None,
        enable_auto_commit=False,
        **settings.kafka_security().client_options(),
    )
    await consumer.start()
    try:
        if topic not in await consumer.topics():
            return []
        partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        letters: list[DeadLetter] = []
        deadline = time.monotonic() + timeout_s

        async def unread() -> bool:
            return any([await consumer.position(tp) < end for tp, end in ends.items()])

        while await unread():
            if time.monotonic() > deadline:
                raise TimeoutError(f"reading {topic} took longer than {timeout_s} s")
            for tp, records in (await consumer.getmany(*partitions, timeout_ms=500)).items():
                for record in records:
                    if record.offset >= ends[tp]:
                        continue  # arrived while reading: the next listing shows it
                    letters.append(
                        DeadLetter(
                            partition=record.partition,
                            offset=record.offset,
                            key=record.key.decode(errors="replace") if record.key is not None else None,
                            value=record.value if record.value is not None else b"",
                            headers={k: v.decode(errors="replace") for k, v in (record.headers or ())},
                        )
                    )
        return sorted(letters, key=lambda d: (d.partition, d.offset))
    finally:
        await consumer.stop()


def select(letters: Iterable[DeadLetter], refs: Iterable[str]) -> list[DeadLetter]:
    """The dead letters named by `refs` (`<partition>:<offset>`, or `<offset>` on partition 0), in
    the order given; raises naming a ref that matches none."""
    by_ref = {d.ref: d for d in letters}
    chosen = []
    for ref in refs:
        key = ref if ":" in ref else f"0:{ref}"
        if key not in by_ref:
            raise LookupError(f"no dead letter {ref} (name one as <partition>:<offset>, as listed)")
        chosen.append(by_ref[key])
    return chosen


async def replay(settings: ServiceSettings, service: str, letters: Iterable[DeadLetter]) -> int:
    """Publish each dead letter back to its original topic; returns how many were sent."""
    _kafka_only(settings, service)
    messages = [letter.replay_message() for letter in letters]
    bus = bus_for(settings, client_id=f"{service}-dead-letters")
    try:
        await bus.publish(messages)
    finally:
        await bus.stop()
    return len(messages)
