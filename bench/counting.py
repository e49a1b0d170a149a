"""Sustained ingestion with counting keeping up, shared by two analytics replicas.

Signed batches of 100 go straight to the first analytics replica for `SUSTAINED_S` seconds while a
second replica (same database, same settings) runs beside it. Every half second the bench reads a
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
from bench.ingest import BATCH, BATCH_CONCURRENCY, CpuMeter, _cpu, _rate, bench_integration, loadgen
from services.demo import dev_headers
from shared.cluster import LocalCluster

SUSTAINED_S = 60.0
DRAIN_TIMEOUT_S = 180.0


async def counted_by(url: str) -> float:
    """analytics_counted_events_total of one replica."""
    async with httpx.AsyncClient(base_url=url) as client:
        text = (await client.get("/metrics")).text
    match = re.search(r"^analytics_counted_events_total (\S+)$", text, re.MULTILINE)
    return float(match.group(1)) if match else 0.0


async def sustained(cluster: LocalCluster, database_url: str, workdir: Path) -> list[Row]:
    """Batches straight to analytics for SUSTAINED_S seconds: lag, exact totals, two replicas."""
    analytics = cluster.url("analytics")
    district, integration = await bench_integration(cluster)
    async with httpx.AsyncClient(base_url=cluster.url("gateway")) as client:
        headers = await dev_headers(client, district, "admin")
    path = f"/api/analytics/webhooks/{integration['id']}/events"
    lags: list[float] = []
    url = make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)
    conn = await asyncpg.connect(url)
    try:
        replica_process = uvicorn_process(  # a second replica: same database, broker and settings
            "services.analytics.app:create_app",
            factory=True,
            log_file=workdir / "analytics-2.log",
            ready_path="/health/ready",
            env=cluster.env_for("analytics"),
        )
        async with (
            replica_process as (replica, replica_pid),
            httpx.AsyncClient(base_url=analytics, headers=headers, timeout=30) as reader,
        ):
            meter = CpuMeter(cluster, conn)
            meter.pids["analytics-2"] = replica_pid
            before = (await counted_by(analytics), await counted_by(replica))
            load = asyncio.create_task(
                meter.measure(
                    loadgen(
                        analytics,
                        path,
                        secret=integration["secret"],
                        concurrency=BATCH_CONCURRENCY,
                        batch=BATCH,
                        seconds=SUSTAINED_S,
                    )
                )
            )
            params = {"from": "2026-03-02", "to": "2026-03-08"}
            while not load.done():
                await asyncio.sleep(0.5)
                asked = dt.datetime.now(dt.UTC)
                body = (await reader.get("/api/analytics/dashboards/logins", params=params)).json()
                fresh = body["freshness"]
                through = dt.datetime.fromisoformat(fresh["complete_through"])
                lags.append(max(0.0, (asked - through).total_seconds()) if fresh["pending_events"] else 0.0)
            result = await load
            drained_in = time.monotonic()
            while await conn.fetchval(
                "SELECT count(*) FROM analytics.usage_pending WHERE district_id = $1", district
            ):
                if time.monotonic() - drained_in > DRAIN_TIMEOUT_S:
                    break
                await asyncio.sleep(0.2)
            drained_in = time.monotonic() - drained_in
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
    return [
        Row(
            f"sustained {SUSTAINED_S:.0f} s, batches of {BATCH} straight to analytics",
            _rate(result),
            "-",
            None,
        ),
        Row(
            "sustained: event-to-dashboard lag p95", f"{lag95:.2f} s ({len(lags)} reads)", "< 2 s", lag95 < 2
        ),
        Row("sustained: queue drained after the load", f"{drained_in:.1f} s", "-", None),
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
        Row("sustained: CPU per event, all processes", _cpu(result), "-", None),
    ]
