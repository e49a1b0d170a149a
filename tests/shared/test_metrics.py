"""The platform's metrics move as things happen, read from a service's /metrics as Prometheus would:
outbox backlog and oldest age, consumer lag per group and partition, dead letters, job runs and failures
(a database and a broker of their own: no other test's events in the way, the numbers are exact)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
from prometheus_client import REGISTRY
from sqlalchemy import func, select

from services.catalog.db import outbox as catalog_outbox
from shared.bus import OutgoingMessage
from shared.bus.kafka import KafkaBus
from shared.events.topics import CATALOG_TOOLS
from shared.metrics import job_run
from shared.service import ServiceRuntime
from shared.testing import free_port
from tests.catalog.helpers import move, register
from tests.fixtures.auth import TokenFactory
from tests.fixtures.metrics import Samples, matching, scrape, value
from tests.fixtures.services import AppFactory


def on_kafka(bootstrap: str, database_url: str, **more: Any) -> dict[str, Any]:
    """Settings of a service on the real broker and this module's database."""
    return {
        "database_url": database_url,
        "bus_backend": "kafka",
        "kafka_bootstrap_servers": bootstrap,
        "kafka_enable_idempotence": False,
        "outbox_poll_interval_s": 0.1,
        "metrics_broker_interval_s": 0,
        **more,
    }


async def until(client: httpx.AsyncClient, check: Callable[[Samples], bool], what: str) -> Samples:
    """Scrape until `check` holds."""
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        samples = await scrape(client)
        if check(samples):
            return samples
        await asyncio.sleep(0.1)
    raise AssertionError(f"/metrics never showed {what}")


async def test_outbox_backlog_and_its_oldest_age(
    service_app: AppFactory, own_broker: str, own_database_url: str, auth: TokenFactory
) -> None:
    settings = on_kafka(own_broker, own_database_url, workers_enabled=False)
    async with service_app("catalog", **settings) as (app, catalog):
        runtime: ServiceRuntime = app.state.runtime
        before = await scrape(catalog)
        assert value(before, "outbox_pending_events", service="catalog") == 0
        assert value(before, "outbox_oldest_pending_age_seconds", service="catalog") == 0

        tool = await register(catalog, auth)
        assert (await move(catalog, auth, tool["id"], "vetting")).status_code == 200
        async with runtime.db.transaction() as session:
            written = await session.scalar(select(func.count()).select_from(catalog_outbox))
        assert written == 2  # tool-registered, tool-status-changed
        waiting = await scrape(catalog)
        assert value(waiting, "outbox_pending_events", service="catalog") == 2
        assert value(waiting, "outbox_oldest_pending_age_seconds", service="catalog") > 0

        assert await runtime.relay.publish_pending() == 2
        relayed = await scrape(catalog)
        assert value(relayed, "outbox_pending_events", service="catalog") == 0
        assert value(relayed, "outbox_oldest_pending_age_seconds", service="catalog") == 0
        published = "outbox_events_published_total"
        assert value(relayed, published, service="catalog") - value(before, published, service="catalog") == 2
        await runtime.bus.stop()


async def test_consumer_lag_per_group_and_partition(
    service_app: AppFactory,
    own_broker: str,
    own_database_url: str,
    auth: TokenFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Pilots' consumer holds a tool's first event until released: its partition shows the lag."""
    import services.pilots.tools.service as tools_service

    release = asyncio.Event()
    held = asyncio.Event()
    apply_status = tools_service.apply_status
    mine: set[str] = set()

    async def held_back(*args: Any, **kwargs: Any) -> Any:
        if str(kwargs["tool_id"]) in mine:
            held.set()
            await release.wait()
        return await apply_status(*args, **kwargs)

    monkeypatch.setattr(tools_service, "apply_status", held_back)
    settings = on_kafka(own_broker, own_database_url, workers_enabled=True)
    async with (
        service_app("pilots", **settings) as (_, pilots),
        service_app("catalog", **settings) as (_, catalog),
    ):
        tool = await register(catalog, auth)
        mine.add(tool["id"])
        assert (await move(catalog, auth, tool["id"], "vetting")).status_code == 200
        await asyncio.wait_for(held.wait(), timeout=90)

        def lags(samples: Samples) -> dict[Any, float]:
            return matching(samples, "consumer_lag_messages", group="pilots", topic=CATALOG_TOOLS)

        # The tool's first event is in hand and its second behind it, on the tool's partition.
        behind = await until(pilots, lambda s: max(lags(s).values(), default=0) >= 1, "pilots lagging")
        partitions = {dict(labels)["partition"] for labels, lag in lags(behind).items() if lag >= 1}
        assert partitions and all(p.isdigit() for p in partitions)
        release.set()
        caught_up = await until(
            pilots, lambda s: all(lags(s).get(k, 0) == 0 for k in lags(behind)), "pilots caught up"
        )
        assert {dict(labels)["partition"] for labels in lags(caught_up)} >= partitions


async def test_dead_letters_counted_and_their_topic_depth(
    service_app: AppFactory, own_broker: str, own_database_url: str
) -> None:
    settings = on_kafka(own_broker, own_database_url, workers_enabled=True)
    async with service_app("pilots", **settings) as (_, pilots):
        before = await scrape(pilots)
        bus = KafkaBus(own_broker, client_id="metrics-test", enable_idempotence=False)
        try:
            await bus.publish([OutgoingMessage(CATALOG_TOOLS, key="poison", value=b"not an event")])
        finally:
            await bus.stop()
        counter = "consumer_dead_letters_total"

        def dead_lettered(samples: Samples) -> float:
            return value(samples, counter, consumer="pilots", topic=CATALOG_TOOLS) - value(
                before, counter, consumer="pilots", topic=CATALOG_TOOLS
            )

        after = await until(pilots, lambda s: dead_lettered(s) >= 1, "the dead letter")
        assert dead_lettered(after) == 1
        depth = "dead_letter_topic_messages"
        assert value(after, depth, consumer="pilots") == value(before, depth, consumer="pilots") + 1


async def test_job_runs_and_failures(service_app: AppFactory, own_database_url: str) -> None:
    fast = {"workers_enabled": True, "retirement_job_interval_s": 0.05, "notice_job_interval_s": 0.05}
    runs = "job_runs_total"

    async with service_app("catalog", database_url=own_database_url, **fast) as (_, catalog):
        first = await scrape(catalog)
        later = await until(
            catalog,
            lambda s: (
                value(s, runs, service="catalog", job="retirement", outcome="ok")
                > value(first, runs, service="catalog", job="retirement", outcome="ok")
            ),
            "retirement passes",
        )
        for job in ("retirement", "notices"):
            assert value(later, runs, service="catalog", job=job, outcome="ok") >= 1
            assert value(later, "job_last_success_timestamp_seconds", service="catalog", job=job) > 0
            assert value(later, "job_run_duration_seconds_count", service="catalog", job=job) >= 1

    # A database that does not answer: every pass fails, and says so.
    gone = f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/nowhere"
    async with service_app("catalog", database_url=gone, **fast) as (_, catalog):
        first = await scrape(catalog)

        def failed(samples: Samples) -> float:
            return value(samples, runs, service="catalog", job="retirement", outcome="failed")

        later = await until(catalog, lambda s: failed(s) >= failed(first) + 2, "failed passes")
        assert failed(later) >= 2
        assert value(later, "metrics_sample_failures_total", service="catalog", sampler="outbox") >= 1


async def test_job_run_counts_what_the_block_did() -> None:
    async def passes(outcome: Callable[[], Awaitable[None]]) -> None:
        async with job_run("test", "unit"):
            await outcome()

    async def ok() -> None:
        return None

    async def fail() -> None:
        raise RuntimeError("boom")

    def counts() -> dict[str, float]:
        labels = {"service": "test", "job": "unit"}
        return {
            o: REGISTRY.get_sample_value("job_runs_total", {**labels, "outcome": o}) or 0
            for o in ("ok", "failed")
        }

    before = counts()
    await passes(ok)
    with pytest.raises(RuntimeError):
        await passes(fail)
    task = asyncio.create_task(passes(lambda: asyncio.sleep(10)))
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert counts() == {"ok": before["ok"] + 1, "failed": before["failed"] + 1}  # a cancelled pass is neither
