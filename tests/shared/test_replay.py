"""Replaying events: published outbox rows sent again with their original ids, so that a consumer
that lost them with the broker catches up, and nothing it had applied is applied twice."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import subprocess
import sys
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from sqlalchemy import Table, delete, func, select, text, update

from services.catalog.db import outbox as catalog_outbox
from shared.bus import MemoryBus
from shared.consumer import EventConsumer
from shared.db import Database
from shared.events import CloudEvent
from shared.events.topics import CATALOG_TOOLS
from shared.outbox import Outbox, OutboxRelay, ReplayRange
from shared.testing import TansuBroker
from tests.fixtures.auth import TokenFactory
from tests.fixtures.services import AppFactory
from tests.shared.conftest import TestSchema
from tests.shared.support import (
    kafka_bus,
    probe_model,
    read_topic,
    record_event,
    schema_tables,
    wait_until,
)
from tests.shared.test_consumer import effects, recording_handler

REPO = Path(__file__).resolve().parents[2]
DISTRICT = "district-replay"


@pytest.fixture
def broker() -> Iterator[TansuBroker]:
    """A broker of this test's own, which it may crash (its in-memory topics are then gone)."""
    own = TansuBroker().start()
    try:
        yield own
    finally:
        own.kill()


async def write(schema: TestSchema, topic: str, item: str, seqs: range) -> list[str]:
    """Probe events (item, seq), one transaction each; returns their event ids."""
    outbox = Outbox(schema.outbox, source="/edtech/shared-tests")
    ids = []
    for seq in seqs:
        async with schema.db.transaction() as session:
            event = await outbox.add(session, probe_model(topic)(item_id=item, seq=seq), district_id=DISTRICT)
            ids.append(event.id)
    return ids


async def relay_all(relay: OutboxRelay) -> None:
    while await relay.publish_pending():
        pass


async def test_a_consumer_that_lost_events_with_the_broker_catches_up_on_a_replay(
    test_schema: TestSchema, broker: TansuBroker
) -> None:
    topic = f"shared-test.replay.{uuid.uuid4().hex[:8]}"
    group = f"replay-{uuid.uuid4().hex[:8]}"

    def consumer_bus() -> tuple[EventConsumer, Any]:
        bus = kafka_bus(broker.bootstrap_servers, client_id="consumer", partitions=2)
        consumer = EventConsumer(
            group=group,
            db=test_schema.db,
            inbox=test_schema.inbox,
            bus=bus,
            handlers={probe_model(topic): recording_handler(test_schema)},
        )
        consumer.attach()
        return consumer, bus

    relay_bus = kafka_bus(broker.bootstrap_servers, client_id="relay", partitions=2)
    relay = OutboxRelay(test_schema.db, test_schema.outbox, relay_bus, service="t", batch_size=7)
    _, bus = consumer_bus()
    buses = [relay_bus, bus]
    try:
        applied = await write(test_schema, topic, "a", range(4)) + await write(
            test_schema, topic, "b", range(4)
        )
        await relay_all(relay)
        await bus.start()
        await wait_until(lambda: has_effects(test_schema, 8), timeout_s=30, what="the first eight effects")
        await bus.stop()  # the consumer goes down ...

        missed = await write(test_schema, topic, "a", range(4, 10)) + await write(
            test_schema, topic, "b", range(4, 10)
        )
        await relay_all(relay)  # ... these are published while it is away ...
        broker.kill()  # ... and lost with the broker's in-memory log, committed offsets and all
        broker.start()
        assert await read_topic(broker.bootstrap_servers, topic, count=1, timeout_s=2) == []

        _, bus = consumer_bus()  # the consumer and the service are back
        relay = OutboxRelay(
            test_schema.db, test_schema.outbox, kafka_bus(broker.bootstrap_servers), service="t"
        )
        buses += [bus, relay.bus]
        await bus.start()
        async with test_schema.db.transaction() as session:
            first = await session.scalar(select(func.min(test_schema.outbox.c.id)))
        assert await relay.republish(ReplayRange(from_id=first)) == 20
        await wait_until(lambda: has_effects(test_schema, 20), timeout_s=30, what="the missed effects")
        await asyncio.sleep(0.5)  # time for a would-be second effect of the eight to show
        records = await read_topic(broker.bootstrap_servers, topic, count=20)
    finally:
        for each in buses:
            await each.stop()
    stored = await effects(test_schema)
    assert sorted(event_id for event_id, _ in stored) == sorted(applied + missed)  # each once
    assert await effect_seqs(test_schema) == {"a": list(range(10)), "b": list(range(10))}  # key order
    replayed = [record_event(r).id for r in records]
    assert sorted(replayed) == sorted(applied + missed)  # the original ids went out again
    headers = [{k: v.decode() for k, v in r.headers} for r in records]
    assert all(h["ce_id"] == i and h["replayed_at"] for h, i in zip(headers, replayed, strict=True))


async def effect_seqs(schema: TestSchema) -> dict[str, list[int]]:
    """Each item's seqs, in the order their effects were stored."""
    async with schema.db.transaction() as session:
        e = schema.effect
        rows = (await session.execute(select(e.c.item_id, e.c.seq).order_by(e.c.id))).all()
    out: dict[str, list[int]] = {}
    for item, seq in rows:
        out.setdefault(item, []).append(seq)
    return out


async def has_effects(schema: TestSchema, n: int) -> bool:
    return len(await effects(schema)) >= n


async def test_a_replay_waits_for_the_relay_and_leaves_unpublished_rows_to_it(
    test_schema: TestSchema,
) -> None:
    topic = f"shared-test.replay.{uuid.uuid4().hex[:8]}"
    bus = MemoryBus()
    relay = OutboxRelay(test_schema.db, test_schema.outbox, bus, service="t")
    published = await write(test_schema, topic, "a", range(3))
    await relay_all(relay)
    pending = await write(test_schema, topic, "a", range(3, 5))
    assert await relay.republish(ReplayRange(from_id=1)) == 3
    assert [CloudEvent.from_kafka(m.headers, m.value).id for m in bus.messages(topic)] == published * 2
    assert await relay.pending_count() == len(pending)  # still the relay's to send, once


# --- which rows a replay sends: exactly the published rows in the range, in id order, each once ---

BASE = dt.datetime(2025, 9, 1, 8, 0, tzinfo=dt.UTC)
TYPES = ("org.edtech.test.one.v1", "org.edtech.test.two.v1")
DISTRICTS = ("north", "south")

rows_st = st.dictionaries(
    keys=st.integers(min_value=1, max_value=60),
    values=st.tuples(
        st.one_of(st.none(), st.integers(min_value=0, max_value=100)),  # published, minutes after BASE
        st.sampled_from(TYPES),
        st.sampled_from(DISTRICTS),
    ),
    max_size=30,
)
minutes = st.one_of(st.none(), st.integers(min_value=0, max_value=100))
ids = st.one_of(st.none(), st.integers(min_value=1, max_value=60))


@st.composite
def ranges(draw: st.DrawFn) -> ReplayRange:
    from_id, to_id, since, until = draw(ids), draw(ids), draw(minutes), draw(minutes)
    assume(any(v is not None for v in (from_id, to_id, since, until)))
    assume(from_id is None or to_id is None or from_id <= to_id)
    assume(since is None or until is None or since < until)
    return ReplayRange(
        from_id=from_id,
        to_id=to_id,
        since=None if since is None else BASE + dt.timedelta(minutes=since),
        until=None if until is None else BASE + dt.timedelta(minutes=until),
        event_type=draw(st.one_of(st.none(), st.sampled_from(TYPES))),
        district_id=draw(st.one_of(st.none(), st.sampled_from(DISTRICTS))),
    )


def expected(rows: dict[int, tuple[int | None, str, str]], r: ReplayRange) -> list[int]:
    """The ids a replay of `r` must send, by a plain reading of the rows."""
    out = []
    for row_id, (published, event_type, district) in sorted(rows.items()):
        at = None if published is None else BASE + dt.timedelta(minutes=published)
        if at is None:
            continue
        if (r.from_id is not None and row_id < r.from_id) or (r.to_id is not None and row_id > r.to_id):
            continue
        if (r.since is not None and at < r.since) or (r.until is not None and at >= r.until):
            continue
        if (r.event_type not in (None, event_type)) or (r.district_id not in (None, district)):
            continue
        out.append(row_id)
    return out


def envelope(row_id: int, event_type: str, district: str) -> str:
    """The stored JSON envelope of row `row_id` (data: its number)."""
    return CloudEvent(
        id=f"e-{row_id}", source="/t", type=event_type, districtid=district, data={"n": row_id}
    ).model_dump_json(exclude_none=True)


async def replay_sends_exactly_the_range(
    db: Database, outbox: Table, rows: dict[int, tuple[int | None, str, str]], r: ReplayRange, batch: int
) -> None:
    async with db.transaction() as session:
        await session.execute(delete(outbox))
        if rows:
            await session.execute(
                outbox.insert(),
                [
                    {
                        "id": row_id,
                        "event_id": f"e-{row_id}",
                        "topic": "t",
                        "key": f"k{row_id % 3}",
                        "event_type": event_type,
                        "payload": envelope(row_id, event_type, district),
                        "headers": {"ce_id": f"e-{row_id}", "district_id": district},
                        "created_at": BASE,
                        "published_at": None if published is None else BASE + dt.timedelta(minutes=published),
                    }
                    for row_id, (published, event_type, district) in rows.items()
                ],
            )
    bus = MemoryBus()
    relay = OutboxRelay(db, outbox, bus, service="t", batch_size=batch)
    sent = await relay.republish(r)
    want = expected(rows, r)
    messages = bus.messages("t")
    assert [m.headers["ce_id"] for m in messages] == [f"e-{i}" for i in want]
    assert [m.value for m in messages] == [f'{{"n":{i}}}'.encode() for i in want]
    assert sent == len(want)


PROPERTY = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@pytest.fixture
def replay_schema(database_url: str) -> Iterator[tuple[str, Table]]:
    """A PostgreSQL schema of this test's own with an outbox (dropped after)."""
    name = f"replay_{uuid.uuid4().hex[:8]}"
    metadata, outbox, _, _ = schema_tables(name)

    async def run(statement: str, create: bool) -> None:
        db = Database(database_url, name, pool_size=1)
        try:
            async with db.engine.begin() as conn:
                await conn.execute(text(statement))
                if create:
                    await conn.run_sync(metadata.create_all)
        finally:
            await db.dispose()

    asyncio.run(run(f'CREATE SCHEMA "{name}"', create=True))
    try:
        yield name, outbox
    finally:
        asyncio.run(run(f'DROP SCHEMA "{name}" CASCADE', create=False))


@PROPERTY
@given(rows=rows_st, r=ranges(), batch=st.integers(min_value=1, max_value=5))
def test_postgresql_replays_exactly_the_published_rows_in_range(
    database_url: str, replay_schema: tuple[str, Table], rows: Any, r: ReplayRange, batch: int
) -> None:
    name, outbox = replay_schema

    async def run() -> None:
        db = Database(database_url, name, pool_size=1)
        try:
            await replay_sends_exactly_the_range(db, outbox, rows, r, batch)
        finally:
            await db.dispose()

    asyncio.run(run())


@settings(PROPERTY, max_examples=30)
@given(rows=rows_st, r=ranges(), batch=st.integers(min_value=1, max_value=5))
def test_sqlite_replays_exactly_the_published_rows_in_range(rows: Any, r: ReplayRange, batch: int) -> None:
    metadata, outbox, _, _ = schema_tables("replay")

    async def run(path: Path) -> None:
        db = Database(f"sqlite+aiosqlite:///{path}", "replay", pool_size=1)
        try:
            async with db.engine.begin() as conn:
                await conn.run_sync(metadata.create_all)
            await replay_sends_exactly_the_range(db, outbox, rows, r, batch)
        finally:
            await db.dispose()

    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(run(Path(tmp) / "replay.db"))


def test_a_range_needs_a_bound_in_order_with_zones() -> None:
    with pytest.raises(ValueError, match="give a range"):
        ReplayRange(event_type="x")
    with pytest.raises(ValueError, match="to_id"):
        ReplayRange(from_id=5, to_id=4)
    with pytest.raises(ValueError, match="since needs a time zone"):
        ReplayRange(since=dt.datetime(2025, 9, 1))
    with pytest.raises(ValueError, match="until must be after since"):
        ReplayRange(since=BASE, until=BASE)


# --- the operator's command line and the district admin's endpoint ---


@pytest.fixture
async def catalog_rows(database_url: str) -> AsyncIterator[tuple[Database, dict[str, list[str]]]]:
    """Published probe events of two districts of their own in catalog's outbox: {district: ids}."""
    db = Database(database_url, "catalog", pool_size=2)
    outbox = Outbox(catalog_outbox, source="/edtech/catalog")
    districts = dict(zip((f"replay-{uuid.uuid4().hex[:8]}" for _ in range(2)), (2, 1), strict=True))
    written: dict[str, list[str]] = {}
    try:
        for district, n in districts.items():
            for seq in range(n):
                async with db.transaction() as session:
                    event = await outbox.add(
                        session, probe_model(CATALOG_TOOLS)(item_id=district, seq=seq), district_id=district
                    )
                written.setdefault(district, []).append(event.id)
        async with db.transaction() as session:
            c = catalog_outbox.c
            await session.execute(
                update(catalog_outbox)
                .where(c.event_id.in_([i for ids in written.values() for i in ids]))
                .values(published_at=func.now())
            )
        yield db, written
    finally:
        await db.dispose()


async def first_id(db: Database, event_ids: list[str]) -> int:
    async with db.transaction() as session:
        c = catalog_outbox.c
        return int(await session.scalar(select(func.min(c.id)).where(c.event_id.in_(event_ids))) or 0)


async def test_the_command_line_republishes_a_range_of_a_service(
    catalog_rows: tuple[Database, dict[str, list[str]]], database_url: str, broker: TansuBroker
) -> None:
    db, written = catalog_rows
    (district, ids), (_, other) = written.items()
    env = {
        **os.environ,
        "CATALOG_DATABASE_URL": database_url,
        "CATALOG_BUS_BACKEND": "kafka",
        "CATALOG_KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap_servers,
        "CATALOG_KAFKA_ENABLE_IDEMPOTENCE": "false",
    }
    start = await first_id(db, ids + other)

    def run(*args: str, **extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "shared.republish", "catalog", *args],
            cwd=REPO,
            env={**env, **extra},
            capture_output=True,
            text=True,
            timeout=60,
        )

    done = await asyncio.to_thread(run, "--from-id", str(start), "--district", district)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "catalog: 2 events republished"
    records = await read_topic(broker.bootstrap_servers, CATALOG_TOOLS, count=2)
    assert [record_event(r).id for r in records] == ids  # in order, that district's only

    bad = await asyncio.to_thread(run, "--from-id", "5", "--to-id", "4")
    assert bad.returncode == 2 and "to_id must not be below from_id" in bad.stderr
    naive = await asyncio.to_thread(run, "--since", "2025-09-01T08:00:00")
    assert naive.returncode == 2 and "needs a time zone" in naive.stderr
    embedded = await asyncio.to_thread(run, "--from-id", "1", CATALOG_BUS_BACKEND="memory")
    assert embedded.returncode == 2 and "in-process bus" in embedded.stderr


async def test_a_district_admin_republishes_the_districts_own_events_only(
    catalog_rows: tuple[Database, dict[str, list[str]]], service_app: AppFactory, auth: TokenFactory
) -> None:
    db, written = catalog_rows
    (district, ids), (other_district, other) = written.items()
    bus = MemoryBus()
    start = await first_id(db, ids + other)
    url = "/api/catalog/admin/outbox/republish"
    async with service_app("catalog", bus=bus) as (_, client):
        admin = auth("admin", district_id=district)
        r = await client.post(url, json={"from_id": start}, headers=admin)
        assert r.status_code == 200, r.text
        assert r.json() == {"events": 2}
        assert [CloudEvent.from_kafka(m.headers, m.value).id for m in bus.messages(CATALOG_TOOLS)] == ids

        r = await client.post(url, json={"from_id": start, "event_type": "org.edtech.none.v1"}, headers=admin)
        assert r.json() == {"events": 0}
        r = await client.post(
            url, json={"from_id": start}, headers=auth("edtech", district_id=other_district)
        )
        assert r.status_code == 403
        for body, field in (
            ({"from_id": 5, "to_id": 4}, "to_id"),
            ({"since": "2025-09-01T08:00:00"}, "since"),
            ({"since": "2025-09-01T08:00:00Z", "until": "2025-09-01T07:00:00Z"}, "until"),
            ({"from_id": 0}, "from_id"),
            ({"from_id": 2**63}, "from_id"),
            ({"since": "9999-12-31T23:00:00-05:00"}, "since"),
            ({"from_id": 1, "event_type": "org.edtech.\u0000.v1"}, "event_type"),
        ):
            r = await client.post(url, json=body, headers=admin)
            assert r.status_code == 422, (body, r.text)
            assert r.headers["content-type"] == "application/problem+json"
            assert r.json()["errors"][0]["field"] == field, (body, r.json())
        r = await client.post(url, json={"event_type": "x"}, headers=admin)
        assert r.status_code == 422 and "give a range" in r.text
    assert len(bus.messages(CATALOG_TOOLS)) == 2
