"""The bus interface: at-least-once delivery, ordered per key, offsets committed after handling."""

from __future__ import annotations

import abc
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from prometheus_client import Gauge

CONSUMER_LAG = Gauge(
    "consumer_lag_messages",
    "Messages of a partition not yet handled by this process's member of the group",
    ["group", "topic", "partition"],
)
"""Set by the bus as it consumes, for the partitions this process holds (none once it leaves)."""


@dataclass(frozen=True, slots=True)
class OutgoingMessage:
    """A message to publish."""

    topic: str
    key: str
    value: bytes
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class IncomingMessage:
    """A message delivered to a consumer group."""

    topic: str
    partition: int
    offset: int
    key: str | None
    value: bytes
    headers: dict[str, str] = field(default_factory=dict)


MessageHandler = Callable[[IncomingMessage], Awaitable[None]]
"""Handles one message. When it returns, the message's offset is committed; when it raises,
the message is delivered again (the consumer runner turns poison into dead letters first)."""


class Bus(abc.ABC):
    """A message bus backend (Kafka, or in-process for the embedded default)."""

    @abc.abstractmethod
    async def start(self) -> None:
        """Prepare the backend; must not fail when the broker is down (publish retries later)."""

    @abc.abstractmethod
    async def stop_consuming(self, *, grace_s: float = 3.0) -> None:
        """Stop every subscription gracefully: each finishes the message in hand, commits what it
        handled and leaves its group; one still busy after `grace_s` is cancelled (its message is
        delivered again later). Publishing keeps working."""

    @abc.abstractmethod
    async def stop(self) -> None:
        """Stop every subscription (as `stop_consuming`) and release connections."""

    @abc.abstractmethod
    async def publish(self, messages: Sequence[OutgoingMessage]) -> None:
        """Publish in order; returns only when every message is durably accepted, else raises."""

    @abc.abstractmethod
    def subscribe(self, group: str, topics: Sequence[str], handler: MessageHandler) -> None:
        """Deliver the topics' messages to `handler`, one at a time per partition, as `group`."""

    @abc.abstractmethod
    async def ping(self) -> None:
        """Raise if the bus cannot be reached."""

    async def depth(self, topic: str) -> int:
        """How many messages `topic` holds (0 if it does not exist)."""
        raise NotImplementedError
