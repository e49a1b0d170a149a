"""Sustained ingestion with counting keeping up, shared by two analytics replicas.

Signed batches of 100 go straight to the cluster's analytics replica, first alone for
`ONE_REPLICA_S` seconds, then for `SUSTAINED_S` seconds while a second replica (same database, same
settings) runs beside it; the CPU per event of the two runs is compared. Every half second the bench reads a
dashboard's `freshness`: the event-to-dashboard lag is how far `complete_through` trails the moment
of the read. Afterwards it waits for the queue to drain and checks that every stored event is
counted exactly once (the daily rollup and the all-groups counters against a count of the events),
and reads from each replica's /metrics how many events it counted.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import re
import time
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from sqlalchemy.engine import make_url

from bench.harness import Row, percentile, uvicorn_process
from bench.ingest import BATCH, BATCH_CONCURRENCY, CpuMeter, _rate, bench_integration, loadgen
from services.demo import dev_headers
from shared.cluster import LocalCluster

SUSTAINED_S = 60.0
ONE_REPLICA_S = 20.0
"""First the same load on the one replica of the cluster, for the CPU per event to compare."""
DRAIN_TIMEOUT_S = 180.0


async def counted_by(url: str) -> float:
    """analytics_counted_events_total of one replica."""
    async with httpx.AsyncClient(base_url=url) as client:
        text = (await client.get("/metrics")).text
    match = re.search(r"^analytics_counted_events_total (\S+)$", text, re.MULTILINE)
    return float(match.group(1)) if match else 0.0


async def _drained(conn: asyncpg.Connection, district: str) -> float:
    """Seconds until the district's queue is empty (DRAIN_TIMEOUT_S at most)."""
    started = time.monotonic()
    while await conn.fetchval(
        "SELECT count(*) FROM analytics.usage_pending WHERE district_id = $1", district
    ):
        if time.monotonic() - started > DRAIN_TIMEOUT_S:
            break
        await asyncio.sleep(0.2)
    return time.monotonic() - started


async def _load(
    meter: CpuMeter,
    conn: asyncpg.Connection,
    reader: httpx.AsyncClient,
    *,
    url: str,
    path: str,
    secret: str,
    district: str,
    seconds: float,
) -> tuple[dict[str, Any], list[float]]:
    """Batches for `seconds`, sampling the dashboards' lag; CPU measured until the queue is drained."""
    lags: list[float] = []

    async def load_then_drain() -> dict[str, Any]:
        result = await loadgen(
            url, path, secret=secret, concurrency=BATCH_CONCURRENCY, batch=BATCH, seconds=seconds
        )
        result["drained_s"] = await _drained(conn, district)
        return result

    load = asyncio.create_task(meter.measure(load_then_drain()))
    params = {"from": "2026-03-02", "to": "2026-03-08"}
    while not load.done():
        await asyncio.sleep(0.5)
        asked = dt.datetime.now(dt.UTC)
        fresh = (await reader.get("/api/analytics/dashboards/logins", params=params)).json()["freshness"]
        through = dt.datetime.fromisoformat(fresh["complete_through"])
        lags.append(max(0.0, (asked - through).total_seconds()) if fresh["pending_events"] else 0.0)
    return await load, lags


def _counting_cpu(result: dict[str, Any]) -> float:
    """Microseconds per event of every analytics replica and PostgreSQL together."""
    cpu: dict[str, float] = result["cpu_us_per_event"]
    return sum(v for k, v in cpu.items() if k != "edge")


async def sustained(cluster: LocalCluster, database_url: str, workdir: Path) -> list[Row]:
    """Batches straight to analytics: one replica, then two for SUSTAINED_S s: lag, exact totals, CPU."""
    analytics = cluster.url("analytics")
    district, integration = await bench_integration(cluster)
    async with httpx.AsyncClient(base_url=cluster.public_url) as client:
        headers = await dev_headers(client, district, "admin")
    load = {
        "url": analytics,
        "path": f"/api/analytics/webhooks/{integration['id']}/events",
        "secret": integration["secret"],
        "district": district,
    }
    url = make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)
    conn = await asyncpg.connect(url)
    try:
        async with httpx.AsyncClient(base_url=analytics, headers=headers, timeout=30) as reader:
            alone, _ = await _load(CpuMeter(cluster, conn), conn, reader, seconds=ONE_REPLICA_S, **load)
            replica_process = uvicorn_process(  # a second replica: same database, broker and settings
                "services.analytics.app:create_app",
                factory=True,
                log_file=workdir / "analytics-2.log",
                ready_path="/health/ready",
                env=cluster.env_for("analytics"),
            )
            async with replica_process as (replica, replica_pid):
                meter = CpuMeter(cluster, conn)
                meter.pids["analytics-2"] = [replica_pid]
                before = (await counted_by(analytics), await counted_by(replica))
                result, lags = await _load(meter, conn, reader, seconds=SUSTAINED_S, **load)
                after = (await counted_by(analytics), await counted_by(replica))
    finally:
        stored = int(
            await conn.fetchval("SELECT count(*) FROM analytics.usage_event WHERE district_id = $1", district)
        )
        daily = int(
            await conn.fetchval(
                "SELECT coalesce(sum(events), 0) FROM analytics.usage_daily WHERE district_id = $1", district
            )
        )
        counters = int(
            await conn.fetchval(
                "SELECT coalesce(sum(events), 0) FROM analytics.usage_count WHERE district_id = $1 "
                "AND period = 'month' AND tool_id = '' AND school_id = '' AND dim = 'all'",
                district,
            )
        )
        await conn.close()
    shares = [a - b for a, b in zip(after, before, strict=True)]
    cpu: dict[str, Any] = result["cpu_us_per_event"]
    lag95 = percentile(lags, 95)
    one, two = _counting_cpu(alone), _counting_cpu(result)
    return [
        Row(
            f"sustained {SUSTAINED_S:.0f} s, batches of {BATCH} straight to analytics, two replicas",
            _rate(result),
            "-",
            None,
        ),
        Row(
            "sustained: event-to-dashboard lag p95", f"{lag95:.2f} s ({len(lags)} reads)", "< 2 s", lag95 < 2
        ),
        Row("sustained: queue drained after the load", f"{result['drained_s']:.1f} s", "-", None),
        Row(
            "sustained: stored = daily rollup = all-groups counters",
            f"{stored:,} / {daily:,} / {counters:,}",
            "all equal",
            stored == daily == counters and stored > 0,
        ),
        Row(
            "two replicas: events counted by each",
            f"{shares[0]:,.0f} / {shares[1]:,.0f}",
            "both > 0",
            all(s > 0 for s in shares),
        ),
        Row(
            "two replicas: CPU per event (ingesting replica, other replica, PostgreSQL)",
            f"{cpu['analytics']:.0f} / {cpu['analytics-2']:.0f} / {cpu['postgres']:.0f} us",
            "-",
            None,
        ),
        Row(
            f"one replica alone ({ONE_REPLICA_S:.0f} s): CPU per event (analytics, PostgreSQL)",
            f"{alone['cpu_us_per_event']['analytics']:.0f} / {alone['cpu_us_per_event']['postgres']:.0f} us",
            "-",
            None,
        ),
        Row(
            "CPU per event, analytics + PostgreSQL: one replica / two",
            f"{one:.0f} / {two:.0f} us",
            "two <= 1.15 x one",
            two <= 1.15 * one,
        ),
    ]
