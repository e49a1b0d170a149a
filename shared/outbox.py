"""Transactional outbox: events are rows written with the state change, then relayed in order."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from typing import Any

import orjson
import structlog
from prometheus_client import Counter, Gauge
from sqlalchemy import BigInteger, Column, Index, Integer, String, Table, Text, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from shared.bus.base import Bus, OutgoingMessage
from shared.db import Database, JSONType, UTCDateTime, try_advisory_lock, utcnow
from shared.events.contracts import EventPayload
from shared.events.envelope import CloudEvent
from shared.observability import current_correlation_id

log = structlog.get_logger(__name__)

EVENTS_PUBLISHED = Counter("outbox_events_published_total", "Events relayed to the bus", ["service"])
RELAY_FAILURES = Counter("outbox_relay_failures_total", "Relay passes that failed", ["service"])
OUTBOX_PENDING = Gauge("outbox_pending_events", "Events waiting in the outbox", ["service"])


def outbox_table(metadata: Any) -> Table:
    """The outbox table in a service's schema (pass the service's MetaData)."""
    return Table(
        "outbox_event",
        metadata,
        Column("id", BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True),
        Column("event_id", String(64), nullable=False, unique=True),
        Column("topic", String(200), nullable=False),
        Column("key", String(200), nullable=False),
        Column("event_type", String(200), nullable=False),
        Column("payload", Text, nullable=False),
        Column("headers", JSONType, nullable=False),
        Column("created_at", UTCDateTime, nullable=False),
        Column("published_at", UTCDateTime, nullable=True),
        Column("attempts", Integer, nullable=False, server_default="0"),
        Index(None, "published_at", "id"),
    )


def processed_event_table(metadata: Any) -> Table:
    """Event ids a service's consumers have applied (the inbox), for idempotency."""
    return Table(
        "processed_event",
        metadata,
        Column("consumer", String(100), primary_key=True),
        Column("event_id", String(64), primary_key=True),
        Column("event_type", String(200), nullable=False),
        Column("processed_at", UTCDateTime, nullable=False),
    )


class Outbox:
    """Writes events into the current transaction; the relay publishes them after commit."""

    def __init__(self, table: Table, *, source: str) -> None:
        self.table = table
        self.source = source

    async def add(
        self, session: AsyncSession, payload: EventPayload, *, district_id: str, subject: str | None = None
    ) -> CloudEvent:
        """Record `payload` as an event of this transaction (published only if it commits)."""
        event = CloudEvent.wrap(payload, source=self.source, district_id=district_id, subject=subject)
        headers = {"ce_type": event.type, "ce_id": event.id, "district_id": district_id}
        correlation_id = current_correlation_id()
        if correlation_id:
            headers["correlation_id"] = correlation_id
        await session.execute(
            self.table.insert().values(
                event_id=event.id,
                topic=payload.topic,
                key=payload.key(),
                event_type=event.type,
                payload=event.to_bytes().decode(),
                headers=headers,
                created_at=event.time,
            )
        )
        session.info["outbox_written"] = True
        return event


class OutboxRelay:
    """Publishes committed outbox rows in id order; retries with backoff while the bus is down.

    On PostgreSQL an advisory lock per schema lets one replica relay at a time, which keeps the
    per-key order across replicas; the others stand by.
    """

    def __init__(
        self,
        db: Database,
        table: Table,
        bus: Bus,
        *,
        service: str,
        batch_size: int = 200,
        poll_interval_s: float = 0.5,
        max_backoff_s: float = 10.0,
        retention: dt.timedelta = dt.timedelta(days=7),
    ) -> None:
        self.db = db
        self.table = table
        self.bus = bus
        self.service = service
        self.batch_size = batch_size
        self.poll_interval_s = poll_interval_s
        self.max_backoff_s = max_backoff_s
        self.retention = retention
        self._wake = asyncio.Event()
        self._lock_name = f"outbox:{db.schema}"
        self._task: asyncio.Task[None] | None = None
        db.on_commit(self._after_commit)

    def _after_commit(self, session: AsyncSession) -> None:
        if session.info.pop("outbox_written", False):
            self._wake.set()

    def notify(self) -> None:
        """Wake the relay now (something was committed)."""
        self._wake.set()

    def start(self) -> None:
        """Run the relay loop in the background."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=f"outbox-relay-{self.service}")

    async def stop(self) -> None:
        """Stop the loop (pending events stay in the outbox for the next start)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        backoff = 0.1
        passes = 0
        while True:
            # Cleared before the pass, not after the wait: a commit landing during the pass must
            # wake the next wait at once instead of being lost until the poll interval.
            self._wake.clear()
            try:
                published = await self.publish_pending()
                backoff = 0.1
                passes += 1
                if passes % 500 == 1:
                    await self.purge_published()
                if published >= self.batch_size:
                    continue
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                RELAY_FAILURES.labels(self.service).inc()
                log.warning("outbox_relay_failed", service=self.service, error=repr(exc), retry_in_s=backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, self.max_backoff_s)
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.poll_interval_s)

    async def publish_pending(self) -> int:
        """One pass: publish up to a batch of pending events, mark them published. Returns the count."""
        t = self.table
        async with self.db.transaction() as session:
            if not await try_advisory_lock(session, self._lock_name):
                return 0
            rows = (
                await session.execute(
                    select(t.c.id, t.c.topic, t.c.key, t.c.payload, t.c.headers)
                    .where(t.c.published_at.is_(None))
                    .order_by(t.c.id)
                    .limit(self.batch_size)
                )
            ).all()
            if not rows:
                OUTBOX_PENDING.labels(self.service).set(0)
                return 0
            messages = [
                OutgoingMessage(
                    topic=r.topic, key=r.key, value=r.payload.encode(), headers=_as_headers(r.headers)
                )
                for r in rows
            ]
            try:
                await self.bus.publish(messages)
            except Exception:
                await session.execute(
                    update(t).where(t.c.id.in_([r.id for r in rows])).values(attempts=t.c.attempts + 1)
                )
                await session.commit()
                raise
            await session.execute(
                update(t).where(t.c.id.in_([r.id for r in rows])).values(published_at=utcnow())
            )
            pending = await session.scalar(
                select(func.count()).select_from(t).where(t.c.published_at.is_(None))
            )
        EVENTS_PUBLISHED.labels(self.service).inc(len(rows))
        OUTBOX_PENDING.labels(self.service).set(max(0, (pending or 0)))
        return len(rows)

    async def purge_published(self) -> None:
        """Delete published rows older than the retention."""
        async with self.db.transaction() as session:
            await session.execute(
                delete(self.table).where(self.table.c.published_at < utcnow() - self.retention)
            )

    async def pending_count(self) -> int:
        """How many events wait to be published."""
        async with self.db.transaction() as session:
            return int(
                await session.scalar(
                    select(func.count()).select_from(self.table).where(self.table.c.published_at.is_(None))
                )
                or 0
            )


def _as_headers(raw: Any) -> dict[str, str]:
    if isinstance(raw, str | bytes):
        raw = orjson.loads(raw)
    return {str(k): str(v) for k, v in (raw or {}).items()}
