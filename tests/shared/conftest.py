"""Fixtures of the shared library's tests: a fresh PostgreSQL schema per test with test tables."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import pytest
from sqlalchemy import MetaData, Table, text

from shared.db import Database
from shared.migrations import upgrade
from shared.testing import broker_from_env, create_database, drop_database
from tests.fixtures.infra import ADMIN_URL
from tests.shared.support import schema_tables


@dataclass
class TestSchema:
    """A schema of one test's own: its database handle, metadata and tables."""

    __test__ = False

    url: str
    name: str
    db: Database
    metadata: MetaData
    outbox: Table
    inbox: Table
    effect: Table

    def database(self) -> Database:
        """Another Database on the same schema (as a second replica of a service would have)."""
        return Database(self.url, self.name, pool_size=4)


@pytest.fixture
async def test_schema(database_url: str) -> AsyncIterator[TestSchema]:
    """A fresh `shared_test_<id>` schema with outbox, processed_event and effect tables (dropped after)."""
    name = f"shared_test_{uuid.uuid4().hex[:8]}"
    metadata, outbox, inbox, effect = schema_tables(name)
    db = Database(database_url, name, pool_size=4)
    async with db.engine.begin() as conn:
        await conn.execute(text(f'CREATE SCHEMA "{name}"'))
        await conn.run_sync(metadata.create_all)
    try:
        yield TestSchema(database_url, name, db, metadata, outbox, inbox, effect)
    finally:
        async with db.engine.begin() as conn:
            await conn.execute(text(f'DROP SCHEMA "{name}" CASCADE'))
        await db.dispose()


@pytest.fixture(scope="module")
def own_broker() -> Iterator[str]:
    """A broker of this module's own (KAFKA_BOOTSTRAP_SERVERS when set): the group `pilots` starts
    with nothing to catch up on from the other tests' catalogs."""
    with broker_from_env() as bootstrap:
        yield bootstrap


@pytest.fixture(scope="module")
def own_database_url() -> Iterator[str]:
    """A database of this module's own, catalog and pilots migrated: no other test's outbox in it."""
    name = f"edtech_own_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    url = create_database(ADMIN_URL, name)
    for service in ("catalog", "pilots"):
        upgrade(service, url)
    yield url
    drop_database(ADMIN_URL, name)
