"""Broker down: requests that change state still succeed, their events wait in the outbox, and
every one of them arrives once the broker is back (a cluster with a broker of its own)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest
from sqlalchemy.engine import make_url

from services.demo import dev_headers
from shared.cluster import LocalCluster, fresh_cluster
from shared.testing import TansuBroker
from tests.e2e.slice import eventually
from tests.fixtures.infra import ADMIN_URL


@pytest.fixture
def own_cluster(tmp_path: Path) -> Iterator[tuple[LocalCluster, TansuBroker, str]]:
    """Catalog, pilots, analytics and the gateway on a broker only this test stops and starts."""
    broker = TansuBroker().start()
    name = f"edtech_outage_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    try:
        with fresh_cluster(
            admin_url=ADMIN_URL,
            database_name=name,
            kafka_bootstrap=broker.bootstrap_servers,
            workdir=tmp_path,
            kafka_idempotence=False,
        ) as (cluster, database_url):
            yield cluster, broker, database_url
    finally:
        broker.stop()


async def test_requests_succeed_while_the_broker_is_down_and_events_arrive_after(
    own_cluster: tuple[LocalCluster, TansuBroker, str],
) -> None:
    cluster, broker, database_url = own_cluster
    db = await asyncpg.connect(make_url(database_url).set(drivername="postgresql").render_as_string(False))
    async with httpx.AsyncClient(base_url=cluster.public_url, timeout=30) as gateway:
        headers = await dev_headers(gateway, f"outage-{uuid.uuid4().hex[:6]}", "edtech")
        broker.kill()

        names = [f"Tool written while the broker is down {i}" for i in range(5)]
        for name in names:
            r = await gateway.post("/api/catalog/tools", json={"name": name}, headers=headers)
            assert r.status_code == 201, r.text
        ready = httpx.get(f"{cluster.url('catalog')}/health/ready", timeout=10)
        assert ready.status_code == 503
        assert ready.json()["checks"]["bus"].startswith("unavailable")
        waiting = await db.fetchval("SELECT count(*) FROM catalog.outbox_event WHERE published_at IS NULL")
        assert waiting >= len(names)

        broker.start()  # the same port again

        async def pilots_know_them() -> bool:
            r = await gateway.get("/api/pilots/tools", params={"limit": 100}, headers=headers)
            return r.status_code == 200 and {t["name"] for t in r.json()["items"]} >= set(names)

        await eventually(pilots_know_them, timeout_s=60, what="pilots receiving the waiting events")
        assert await db.fetchval("SELECT count(*) FROM catalog.outbox_event WHERE published_at IS NULL") == 0
    await db.close()
