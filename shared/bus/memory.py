"""The in-process bus of the embedded default: same at-least-once and ordering semantics.

Each topic is one append-only log (a single partition, so total order per topic and hence per
key). Each consumer group keeps its own committed offset per topic and advances it only after
its handler returned, so a handler failure means redelivery, as with Kafka.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict
from collections.abc import Sequence

import structlog

from shared.bus.base import CONSUMER_LAG, Bus, IncomingMessage, MessageHandler, OutgoingMessage

log = structlog.get_logger(__name__)


class MemoryBus(Bus):
    """An in-process bus for one process (the embedded default)."""

    def __init__(self, *, redelivery_delay_s: float = 0.5) -> None:
        self._logs: dict[str, list[OutgoingMessage]] = defaultdict(list)
        self._offsets: dict[tuple[str, str], int] = defaultdict(int)
        self._changed = asyncio.Condition()
        self._tasks: list[asyncio.Task[None]] = []
        self._active: set[tuple[str, str]] = set()
        self._subscriptions: list[tuple[str, tuple[str, ...], MessageHandler]] = []
        self._running = False
        self._redelivery_delay_s = redelivery_delay_s

    async def start(self) -> None:
        if self._running:
            return
        self._running = True
        for group, topics, handler in self._subscriptions:
            self._spawn(group, topics, handler)

    async def stop_consuming(self, *, grace_s: float = 3.0) -> None:
        self._running = False
        async with self._changed:
            self._changed.notify_all()  # idle consumers return at once
        tasks, self._tasks = self._tasks, []
        if tasks:
            _, busy = await asyncio.wait(tasks, timeout=grace_s)
            for task in busy:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._active.clear()

    async def stop(self) -> None:
        await self.stop_consuming()

    async def publish(self, messages: Sequence[OutgoingMessage]) -> None:
        async with self._changed:
            for message in messages:
                self._logs[message.topic].append(message)
            self._changed.notify_all()

    def subscribe(self, group: str, topics: Sequence[str], handler: MessageHandler) -> None:
        entry = (group, tuple(topics), handler)
        self._subscriptions.append(entry)
        if self._running:
            self._spawn(*entry)

    async def ping(self) -> None:
        return None

    async def depth(self, topic: str) -> int:
        return len(self._logs.get(topic, ()))

    def caught_up(self) -> bool:
        """Every subscribed group has handled everything published to its topics so far."""
        return all(
            self._offsets[(group, topic)] >= len(self._logs[topic])
            for group, topics, _ in self._subscriptions
            for topic in topics
        )

    def messages(self, topic: str) -> list[OutgoingMessage]:
        """Everything published to a topic so far (for inspection and tests)."""
        return list(self._logs[topic])

    def _spawn(self, group: str, topics: tuple[str, ...], handler: MessageHandler) -> None:
        for topic in topics:
            # Like a Kafka partition, a topic has one consumer per group: a second subscriber of the
            # same group (another replica) stands by instead of handling the same messages at once.
            if (group, topic) in self._active:
                continue
            self._active.add((group, topic))
            self._tasks.append(asyncio.create_task(self._consume(group, topic, handler)))

    async def _consume(self, group: str, topic: str, handler: MessageHandler) -> None:
        cursor = (group, topic)
        lag = CONSUMER_LAG.labels(group, topic, "0")
        while self._running:
            async with self._changed:
                await self._changed.wait_for(
                    lambda: not self._running or self._offsets[cursor] < len(self._logs[topic])
                )
            if not self._running:
                return
            offset = self._offsets[cursor]
            lag.set(len(self._logs[topic]) - offset)
            message = self._logs[topic][offset]
            incoming = IncomingMessage(
                topic=topic,
                partition=0,
                offset=offset,
                key=message.key,
                value=message.value,
                headers=dict(message.headers),
            )
            try:
                await handler(incoming)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("memory_bus_handler_failed", group=group, topic=topic, offset=offset)
                if self._running:
                    await asyncio.sleep(self._redelivery_delay_s)
                continue
            self._offsets[cursor] = offset + 1
            lag.set(len(self._logs[topic]) - offset - 1)
