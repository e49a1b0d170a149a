"""Transactional outbox: events are rows written with the state change, then relayed in order.

Published rows are kept for a retention (`<SERVICE>_OUTBOX_RETENTION_DAYS`, 7 days by default) and
then purged, so that a range can be republished (`OutboxRelay.republish`, `python -m
shared.republish`) after a broker lost what consumers had not read yet: the events go out again
with their original ids, and consumers, which remember the ids they applied, apply only the ones
they missed.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from dataclasses import dataclass
from typing import Any

import orjson
import structlog
from prometheus_client import Counter, Gauge
from sqlalchemy import BigInteger, Column, Index, Integer, String, Table, Text, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from shared.bus.base import Bus, OutgoingMessage
from shared.db import Database, JSONType, UTCDateTime, advisory_lock, try_advisory_lock, utcnow
from shared.events.contracts import EventPayload
from shared.events.envelope import CE_PREFIX, CONTENT_TYPE, CloudEvent, binary_mode
from shared.observability import current_correlation_id
from shared.tracing import Tracing, current_trace_context

log = structlog.get_logger(__name__)

EVENTS_PUBLISHED = Counter("outbox_events_published_total", "Events relayed to the bus", ["service"])
RELAY_FAILURES = Counter("outbox_relay_failures_total", "Relay passes that failed", ["service"])
OUTBOX_PENDING = Gauge("outbox_pending_events", "Events waiting in the outbox", ["service"])
OUTBOX_OLDEST_AGE = Gauge(
    "outbox_oldest_pending_age_seconds",
    "How long the oldest event waiting in the outbox has waited (0 when none waits)",
    ["service"],
)
EVENTS_REPUBLISHED = Counter(
    "outbox_events_republished_total", "Published events sent again by a replay", ["service"]
)


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
        # The trace this change belongs to travels with its event (CloudEvents distributed tracing).
        event = CloudEvent.wrap(
            payload,
            source=self.source,
            district_id=district_id,
            subject=subject,
            extensions=current_trace_context(),
        )
        # The row keeps the envelope in JSON; the relay sends it in binary mode with these headers
        # added. district_id is what a replay filters on (rows written before also hold ce_id and
        # ce_type here, which the relay replaces with the envelope's own attributes).
        headers = {"district_id": district_id}
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


@dataclass(frozen=True)
class ReplayRange:
    """Which published outbox rows a replay sends again: ids and publication times are bounds
    (`from_id`/`to_id` inclusive, `since` inclusive, `until` exclusive), `event_type` and
    `district_id` filters. At least one bound is required, so that a replay is always a range."""

    from_id: int | None = None
    to_id: int | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    event_type: str | None = None
    district_id: str | None = None

    def __post_init__(self) -> None:
        if self.from_id is None and self.to_id is None and self.since is None and self.until is None:
            raise ValueError("give a range: from_id, to_id, since or until")
        if self.from_id is not None and self.to_id is not None and self.from_id > self.to_id:
            raise ValueError("to_id must not be below from_id")
        for name in ("since", "until"):
            value = getattr(self, name)
            if value is not None and value.tzinfo is None:
                raise ValueError(f"{name} needs a time zone (e.g. 2025-09-01T08:00:00Z)")
        if self.since is not None and self.until is not None and self.since >= self.until:
            raise ValueError("until must be after since")

    def conditions(self, table: Table) -> list[Any]:
        """The WHERE conditions selecting these rows of `table` (published rows only)."""
        c = table.c
        where: list[Any] = [c.published_at.is_not(None)]
        if self.from_id is not None:
            where.append(c.id >= self.from_id)
        if self.to_id is not None:
            where.append(c.id <= self.to_id)
        if self.since is not None:
            where.append(c.published_at >= self.since)
        if self.until is not None:
            where.append(c.published_at < self.until)
        if self.event_type is not None:
            where.append(c.event_type == self.event_type)
        if self.district_id is not None:
            where.append(c.headers["district_id"].as_string() == self.district_id)
        return where


class OutboxRelay:
    """Publishes committed outbox rows in id order; retries with backoff while the bus is down.

    On PostgreSQL an advisory lock per schema lets one replica relay at a time, which keeps the
    per-key order across replicas; the others stand by. A replay takes the same lock per batch.
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
        tracing: Tracing | None = None,
    ) -> None:
        self.db = db
        self.tracing = tracing or Tracing()
        self.table = table
        self.bus = bus
        self.service = service
        self.batch_size = batch_size
        self.poll_interval_s = poll_interval_s
        self.max_backoff_s = max_backoff_s
        self.retention = retention
        self._wake = asyncio.Event()
        self._stopping = False
        self._lock_name = f"outbox:{db.schema}"
        self._task: asyncio.Task[None] | None = None
        db.on_commit(self._after_commit)

    def _after_commit(self, session: AsyncSession) -> None:
        if session.info.pop("outbox_written", False):
            self._wake.set()

    def start(self) -> None:
        """Run the relay loop in the background."""
        if self._task is None:
            self._stopping = False
            self._task = asyncio.create_task(self._run(), name=f"outbox-relay-{self.service}")

    async def stop(self, *, timeout_s: float = 3.0) -> None:
        """Stop the loop after its current pass and one last pass over what was committed before.

        A pass is cut only if it outlasts `timeout_s` (the bus hanging). Rows are marked published
        in the transaction that sent them, so nothing is marked that was not sent; what is left
        stays in the outbox for the next start.
        """
        task, self._task = self._task, None
        if task is None:
            return
        self._stopping = True
        self._wake.set()
        try:
            await asyncio.wait_for(asyncio.shield(task), timeout=timeout_s)
        except TimeoutError:
            log.warning("outbox_relay_stop_timeout", service=self.service, timeout_s=timeout_s)
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        backoff = 0.1
        passes = 0
        while True:
            # Cleared before the pass, not after the wait: a commit landing during the pass must
            # wake the next wait at once instead of being lost until the poll interval.
            self._wake.clear()
            # A pass begun after the stop was asked relays everything committed before it: the last.
            last_pass = self._stopping
            try:
                published = await self.publish_pending()
                backoff = 0.1
                passes += 1
                if passes % 500 == 1 and not last_pass:
                    await self.purge_published()
                if published >= self.batch_size and not last_pass:
                    continue
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                RELAY_FAILURES.labels(self.service).inc()
                if self._stopping:
                    log.warning("outbox_relay_left_pending", service=self.service, error=repr(exc))
                    return
                log.warning("outbox_relay_failed", service=self.service, error=repr(exc), retry_in_s=backoff)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopped(), timeout=backoff)
                if self._stopping:
                    return  # the bus is failing: what waits stays for the next start
                backoff = min(backoff * 2, self.max_backoff_s)
                continue
            if last_pass:
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.poll_interval_s)

    async def _stopped(self) -> None:
        while not self._stopping:
            await self._wake.wait()
            self._wake.clear()

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
            try:
                with self.tracing.sending([_message(r) for r in rows]) as messages:
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

    async def republish(self, selection: ReplayRange) -> int:
        """Send the published rows in `selection` again, in id order, with their original event ids
        (consumers apply only those they had not applied); returns how many were sent.

        Each batch holds the relay's lock while it is sent, so the live relay (of any replica)
        stands by meanwhile and a key's events keep their order within the replay. Unpublished rows
        are left to the relay.
        """
        t = self.table
        after = (selection.from_id or 1) - 1
        sent = 0
        while True:
            async with self.db.transaction() as session:
                await advisory_lock(session, self._lock_name)
                rows = (
                    await session.execute(
                        select(t.c.id, t.c.topic, t.c.key, t.c.payload, t.c.headers)
                        .where(t.c.id > after, *selection.conditions(t))
                        .order_by(t.c.id)
                        .limit(self.batch_size)
                    )
                ).all()
                if not rows:
                    break
                replayed_at = utcnow().isoformat()
                with self.tracing.sending([_message(r, replayed_at=replayed_at) for r in rows]) as messages:
                    await self.bus.publish(messages)
            sent += len(rows)
            after = rows[-1].id
            EVENTS_REPUBLISHED.labels(self.service).inc(len(rows))
        log.info("outbox_republished", service=self.service, events=sent, last_id=after if sent else None)
        return sent

    async def purge_published(self) -> None:
        """Delete published rows older than the retention (until then a replay can send them again)."""
        async with self.db.transaction() as session:
            await session.execute(
                delete(self.table).where(self.table.c.published_at < utcnow() - self.retention)
            )

    async def sample_backlog(self) -> None:
        """Set the backlog gauges from the table (at scrapes: they show a relay that is stuck too)."""
        t = self.table
        async with self.db.transaction() as session:
            count, oldest = (
                await session.execute(
                    select(func.count(), func.min(t.c.created_at)).where(t.c.published_at.is_(None))
                )
            ).one()
        OUTBOX_PENDING.labels(self.service).set(int(count or 0))
        age = (utcnow() - oldest).total_seconds() if oldest is not None else 0.0
        OUTBOX_OLDEST_AGE.labels(self.service).set(max(0.0, age))

    async def pending_count(self) -> int:
        """How many events wait to be published."""
        async with self.db.transaction() as session:
            return int(
                await session.scalar(
                    select(func.count()).select_from(self.table).where(self.table.c.published_at.is_(None))
                )
                or 0
            )


def _message(row: Any, *, replayed_at: str | None = None) -> OutgoingMessage:
    """A row as a binary-mode CloudEvents record: the attributes as `ce_` headers and `content-type`,
    the data as the value, plus the row's own headers (correlation id) and a replay's time."""
    attributes, value = binary_mode(orjson.loads(row.payload))
    headers = {
        name: text
        for name, text in _as_headers(row.headers).items()
        if name not in _REPLACED_HEADERS and not name.startswith(CE_PREFIX)
    }
    if replayed_at is not None:
        headers["replayed_at"] = replayed_at
    return OutgoingMessage(topic=row.topic, key=row.key, value=value, headers={**headers, **attributes})


_REPLACED_HEADERS = frozenset({CONTENT_TYPE, "district_id"})
"""Row headers not sent: `content-type` is the envelope's, `district_id` travels as `ce_districtid`."""


def _as_headers(raw: Any) -> dict[str, str]:
    if isinstance(raw, str | bytes):
        raw = orjson.loads(raw)
    return {str(k): str(v) for k, v in (raw or {}).items()}
