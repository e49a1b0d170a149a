"""The consumer runner: idempotent, transactional event handling with bounded retries and dead letters.

Handlers take the envelope, the typed payload and a session, and know nothing of Kafka:

    async def on_pilot_started(event: CloudEvent, payload: PilotStarted, session: AsyncSession) -> None

The runner records the event id in the service's `processed_event` table in the same transaction
as the handler's effect, so a redelivered event has no second effect. A message that cannot be
parsed, or whose handler keeps failing, is published to the group's dead-letter topic with its
origin and error, and the partition moves on. If the database itself is unreachable the message
is not dead-lettered: `handle_message` raises and the bus delivers it again later.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import structlog
from prometheus_client import Counter, Gauge
from sqlalchemy import CursorResult, Table
from sqlalchemy.ext.asyncio import AsyncSession

from shared.bus.base import Bus, IncomingMessage, OutgoingMessage
from shared.db import Database, insert_ignoring_conflicts, utcnow
from shared.events.contracts import EventPayload
from shared.events.envelope import CloudEvent
from shared.events.topics import dead_letter_topic
from shared.observability import bind_correlation_id
from shared.tracing import Tracing

log = structlog.get_logger(__name__)

Handler = Callable[[CloudEvent, Any, AsyncSession], Awaitable[None]]

EVENTS_CONSUMED = Counter(
    "events_consumed_total", "Events handled by consumers", ["consumer", "event_type", "result"]
)
DEAD_LETTERS = Counter(
    "consumer_dead_letters_total",
    "Messages a consumer group gave up on, by the topic they came from",
    ["consumer", "topic"],
)
DEAD_LETTER_DEPTH = Gauge(
    "dead_letter_topic_messages",
    "Messages in a consumer group's dead-letter topic (replays leave them)",
    ["consumer"],
)


class DatabaseUnavailable(Exception):
    """The handler failed while the database was unreachable: the message must be delivered again."""


class EventConsumer:
    """Applies events to a service's database exactly once per event id."""

    def __init__(
        self,
        *,
        group: str,
        db: Database,
        inbox: Table,
        bus: Bus,
        handlers: Mapping[Any, Handler],
        max_attempts: int = 3,
        retry_backoff_s: float = 0.2,
        tracing: Tracing | None = None,
    ) -> None:
        self.group = group
        self.tracing = tracing or Tracing()
        self.db = db
        self.inbox = inbox
        self.bus = bus
        self.handlers = {model.event_type(): (model, handler) for model, handler in handlers.items()}
        self.max_attempts = max_attempts
        self.retry_backoff_s = retry_backoff_s

    @property
    def topics(self) -> list[str]:
        """The topics this consumer's handlers need."""
        return sorted({model.topic for model, _ in self.handlers.values()})

    def attach(self) -> None:
        """Subscribe to the bus as this consumer group."""
        if self.handlers:
            self.bus.subscribe(self.group, self.topics, self.handle_message)

    async def handle_message(self, message: IncomingMessage) -> None:
        """Handle one delivered message; returns once its effect is stored or it is dead-lettered."""
        bind_correlation_id(message.headers.get("correlation_id"))
        if not self.tracing.enabled:
            await self._handle(message)
            return
        with self.tracing.processing(message, group=self.group):
            await self._handle(message)

    async def _handle(self, message: IncomingMessage) -> None:
        try:
            event = CloudEvent.from_kafka(message.headers, message.value)
        except Exception as exc:
            await self.dead_letter(message, exc)
            return
        entry = self.handlers.get(event.type)
        if entry is None:
            EVENTS_CONSUMED.labels(self.group, event.type, "ignored").inc()
            return
        model, handler = entry
        try:
            payload = model.model_validate(event.data)
        except Exception as exc:
            await self.dead_letter(message, exc, event=event)
            return
        last_error: Exception | None = None
        for attempt in range(1, self.max_attempts + 1):
            try:
                applied = await self.apply(event, payload, handler)
            except Exception as exc:
                last_error = exc
                log.warning(
                    "event_handler_failed",
                    consumer=self.group,
                    event_id=event.id,
                    event_type=event.type,
                    attempt=attempt,
                    error=repr(exc),
                )
                if attempt < self.max_attempts:
                    await asyncio.sleep(self.retry_backoff_s * 2 ** (attempt - 1))
                continue
            EVENTS_CONSUMED.labels(self.group, event.type, "applied" if applied else "duplicate").inc()
            return
        assert last_error is not None
        if not await self._database_answers():
            # Not the message's fault: leave it on the bus (redelivered later) instead of parking a
            # good event in the dead letters for every second the database is away.
            raise DatabaseUnavailable(f"database unavailable while handling event {event.id}") from last_error
        await self.dead_letter(message, last_error, event=event)

    async def _database_answers(self) -> bool:
        try:
            await asyncio.wait_for(self.db.ping(), timeout=5)
        except Exception:
            return False
        return True

    async def apply(self, event: CloudEvent, payload: EventPayload, handler: Handler) -> bool:
        """Run the handler and remember the event id in one transaction. False if already applied."""
        async with self.db.transaction() as session:
            result: CursorResult[Any] = await session.execute(  # type: ignore[assignment]
                insert_ignoring_conflicts(
                    session,
                    self.inbox,
                    [
                        {
                            "consumer": self.group,
                            "event_id": event.id,
                            "event_type": event.type,
                            "processed_at": utcnow(),
                        }
                    ],
                    index_elements=["consumer", "event_id"],
                )
            )
            if result.rowcount == 0:
                return False
            await handler(event, payload, session)
        return True

    async def sample_dead_letters(self) -> None:
        """Set the dead-letter depth gauge from the group's dead-letter topic (at scrapes)."""
        DEAD_LETTER_DEPTH.labels(self.group).set(await self.bus.depth(dead_letter_topic(self.group)))

    async def dead_letter(
        self, message: IncomingMessage, error: Exception, *, event: CloudEvent | None = None
    ) -> None:
        """Publish the message to the group's dead-letter topic with where it came from and why."""
        EVENTS_CONSUMED.labels(self.group, event.type if event else "unparseable", "dead_lettered").inc()
        DEAD_LETTERS.labels(self.group, message.topic).inc()
        log.error(
            "event_dead_lettered",
            consumer=self.group,
            topic=message.topic,
            partition=message.partition,
            offset=message.offset,
            error=repr(error),
        )
        headers = {
            **message.headers,
            "dlq_original_topic": message.topic,
            "dlq_original_partition": str(message.partition),
            "dlq_original_offset": str(message.offset),
            "dlq_consumer_group": self.group,
            "dlq_error": f"{type(error).__name__}: {error}"[:2000],
            "dlq_failed_at": utcnow().isoformat(),
        }
        await self.bus.publish(
            [
                OutgoingMessage(
                    topic=dead_letter_topic(self.group),
                    key=message.key or "",
                    value=message.value,
                    headers=headers,
                )
            ]
        )
