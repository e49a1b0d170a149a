"""Webhook ingestion through the edge, against its raw baselines (COPY, a trivial FastAPI POST).

The load comes from `bench.loadgen` run as separate processes; an event counts only when its
answer is 200 with it `accepted`, which analytics sends after the commit.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import os
import sys
import time
import uuid
from collections.abc import AsyncIterator, Coroutine
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import orjson
from sqlalchemy.engine import make_url

from bench.harness import Row, uvicorn_process
from bench.loadgen import make_event
from services.demo import dev_headers
from shared.cluster import LocalCluster

SECONDS = 7.0
"""Measured seconds per load level (plus one second of warm-up)."""
LEVELS = (1, 16, 64)
BATCH = 100
BATCH_CONCURRENCY = 8
CLIENT_PROCESSES = 2
COPY_COLUMNS = (
    "district_id",
    "event_id",
    "integration_id",
    "tool_id",
    "user_id",
    "kind",
    "occurred_at",
    "class_id",
    "feature",
    "duration_s",
    "source",
    "received_at",
)


async def loadgen(
    url: str, path: str, *, secret: str = "", concurrency: int, batch: int = 1, seconds: float = SECONDS
) -> dict[str, Any]:
    """Run `bench.loadgen` as its own process(es) and return its JSON result."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench.loadgen",
        "--url",
        url,
        "--path",
        path,
        "--secret",
        secret,
        "--concurrency",
        str(concurrency),
        "--batch",
        str(batch),
        "--duration",
        str(seconds),
        "--processes",
        str(CLIENT_PROCESSES if concurrency > 1 else 1),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"loadgen failed ({proc.returncode}): {err.decode()[-2000:]}")
    result: dict[str, Any] = orjson.loads(out)
    return result


@contextlib.asynccontextmanager
async def trivial_endpoint(workdir: Path) -> AsyncIterator[str]:
    """The trivial FastAPI app under uvicorn in its own process; yields its base URL."""
    async with uvicorn_process(
        "bench.trivial_app:app", log_file=workdir / "trivial.log", ready_path="/openapi.json"
    ) as (url, _):
        yield url


async def copy_baseline(database_url: str, *, connections: int, seconds: float = SECONDS) -> float:
    """Rows/s of asyncpg COPY in batches of 100 into a scratch copy of analytics.usage_event."""
    url = make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)
    table = f"bench_copy_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(url)
    await admin.execute(f"CREATE TABLE public.{table} (LIKE analytics.usage_event INCLUDING ALL)")
    district, integration = "bench-copy", uuid.uuid4()
    occurred = dt.datetime(2026, 3, 2, 8, tzinfo=dt.UTC)
    received_at = dt.datetime.now(dt.UTC)
    counts = [0] * connections

    async def copier(index: int, tag: str, stop_at: float) -> None:
        conn = await asyncpg.connect(url)
        try:
            n = 0
            while time.perf_counter() < stop_at:
                rows = []
                for i in range(BATCH):
                    ev = make_event(f"copy-{tag}-{index}-{n}-{i}")
                    rows.append(
                        (
                            district,
                            ev["event_id"],
                            integration,
                            "tool",
                            ev["user_id"],
                            ev["type"],
                            occurred,
                            None,
                            ev["feature"],
                            None,
                            "events",
                            received_at,
                        )
                    )
                await conn.copy_records_to_table(
                    table, records=rows, columns=COPY_COLUMNS, schema_name="public"
                )
                counts[index] += BATCH
                n += 1
        finally:
            await conn.close()

    try:
        warm_until = time.perf_counter() + 0.5
        await asyncio.gather(*(copier(i, "warm", warm_until) for i in range(connections)))
        counts[:] = [0] * connections
        started = time.perf_counter()
        await asyncio.gather(*(copier(i, "run", started + seconds) for i in range(connections)))
        elapsed = time.perf_counter() - started
        return sum(counts) / elapsed
    finally:
        await admin.execute(f"DROP TABLE IF EXISTS public.{table}")
        await admin.close()


def _cpu_s(pid: int) -> float:
    """User + system CPU seconds a process has used so far (0 when it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _children(pid: int) -> list[int]:
    """The child processes of `pid` (nginx's workers)."""
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


class CpuMeter:
    """CPU seconds used by analytics, the edge (nginx's master and workers) and this database's
    PostgreSQL backends."""

    def __init__(self, cluster: LocalCluster, conn: asyncpg.Connection) -> None:
        edge = cluster.processes["edge"].pid
        self.pids = {"analytics": [cluster.processes["analytics"].pid], "edge": [edge, *_children(edge)]}
        self.conn = conn

    async def snapshot(self) -> dict[str, dict[int, float]]:
        """CPU seconds so far of each component's processes, by pid."""
        backends = await self.conn.fetch(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        shot = {name: {pid: _cpu_s(pid) for pid in pids} for name, pids in self.pids.items()}
        shot["postgres"] = {r["pid"]: _cpu_s(r["pid"]) for r in backends}
        return shot

    async def measure(self, run: Coroutine[Any, Any, dict[str, Any]]) -> dict[str, Any]:
        """Run a load level; adds CPU microseconds per stored event of each component."""
        before = await self.snapshot()
        result = await run
        after = await self.snapshot()
        total = max(1, result["events_total"])
        result["cpu_us_per_event"] = {
            name: sum(max(0.0, t - before[name].get(pid, 0.0)) for pid, t in pids.items()) * 1e6 / total
            for name, pids in after.items()
        }
        return result


def _cpu(result: dict[str, Any]) -> str:
    cpu = result["cpu_us_per_event"]
    return f"an {cpu['analytics']:.0f} edge {cpu['edge']:.0f} pg {cpu['postgres']:.0f} us"


def _rate(result: dict[str, Any]) -> str:
    return f"{result['events_per_s']:,.0f} ev/s"


def _latency(result: dict[str, Any]) -> str:
    return f"p50 {result['p50_ms']:.1f} p99 {result['p99_ms']:.1f} ms"


def _problems(name: str, result: dict[str, Any]) -> list[Row]:
    if not result["errors"]:
        return []
    print(f"{name}: {result['errors']} failed requests, last: {result['last_error']}", file=sys.stderr)
    return [Row(f"{name}: failed requests (see stderr)", str(result["errors"]), "0", False)]


async def edge_share(edge: str, direct: str, path: str, *, secret: str, rounds: int = 4) -> dict[str, float]:
    """Single events at c=64 through the edge and straight to analytics, in alternating rounds of
    a few seconds (the order swapped each round), so that whatever else loads the machine weighs on
    both alike: events per second of each, and their ratio."""
    totals = {"edge": [0.0, 0.0], "direct": [0.0, 0.0]}
    for n in range(rounds):
        order = [("edge", edge), ("direct", direct)]
        for name, url in order if n % 2 == 0 else reversed(order):
            result = await loadgen(url, path, secret=secret, concurrency=64, seconds=3)
            totals[name][0] += result["events"]
            totals[name][1] += result["seconds"]
    rates = {name: events / seconds if seconds else 0.0 for name, (events, seconds) in totals.items()}
    ratio = rates["edge"] / rates["direct"] if rates["direct"] else float("nan")
    return {**rates, "ratio": ratio, "events": int(sum(events for events, _ in totals.values()))}


async def bench_integration(cluster: LocalCluster) -> tuple[str, dict[str, Any]]:
    """A fresh district and an LMS integration of it (with its secret), made through the edge."""
    district = f"bench-{uuid.uuid4().hex[:6]}"
    async with httpx.AsyncClient(base_url=cluster.public_url) as client:
        headers = await dev_headers(client, district, "edtech")
        r = await client.post(
            "/api/analytics/integrations",
            json={"name": "Bench LMS", "tool_id": str(uuid.uuid4())},
            headers=headers,
        )
        r.raise_for_status()
        return district, dict(r.json())


async def ingestion(cluster: LocalCluster, database_url: str, workdir: Path) -> list[Row]:
    """Signed platform-JSON events through the edge: single at c=1/16/64 and batches of 100; the
    same single load at c=64 straight to analytics right after (the edge's share of the cost)."""
    edge = cluster.public_url
    district, integration = await bench_integration(cluster)
    path = f"/api/analytics/webhooks/{integration['id']}/events"
    secret = integration["secret"]
    url = make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)
    conn = await asyncpg.connect(url)
    try:
        meter = CpuMeter(cluster, conn)
        singles = {c: await meter.measure(loadgen(edge, path, secret=secret, concurrency=c)) for c in LEVELS}
        direct = await meter.measure(loadgen(cluster.url("analytics"), path, secret=secret, concurrency=64))
        share = await edge_share(edge, cluster.url("analytics"), path, secret=secret)
        batches = await meter.measure(
            loadgen(edge, path, secret=secret, concurrency=BATCH_CONCURRENCY, batch=BATCH)
        )
        direct_batches = await meter.measure(
            loadgen(cluster.url("analytics"), path, secret=secret, concurrency=BATCH_CONCURRENCY, batch=BATCH)
        )
        async with trivial_endpoint(workdir) as trivial_url:
            trivial = {c: await loadgen(trivial_url, "/ingest", secret=secret, concurrency=c) for c in LEVELS}
        copy_rate = await copy_baseline(database_url, connections=BATCH_CONCURRENCY)
        stored = int(
            await conn.fetchval("SELECT count(*) FROM analytics.usage_event WHERE district_id = $1", district)
        )
    finally:
        await conn.close()
    counted = sum(r["events"] for r in (*singles.values(), batches, direct, direct_batches)) + share["events"]

    rows: list[Row] = [
        Row(
            f"baseline: asyncpg COPY, batches of {BATCH}, {BATCH_CONCURRENCY} connections",
            f"{copy_rate:,.0f} ev/s",
            "-",
            None,
        )
    ]
    for c in LEVELS:
        t = trivial[c]
        rows.append(Row(f"baseline: trivial FastAPI POST, c={c}: events/s", _rate(t), "-", None))
        rows.append(Row(f"baseline: trivial FastAPI POST, c={c}: latency", _latency(t), "-", None))
        rows += _problems(f"trivial c={c}", t)
    for c in LEVELS:
        s = singles[c]
        ratio = s["events_per_s"] / trivial[c]["events_per_s"] if trivial[c]["events_per_s"] else float("nan")
        if c == 64:
            rows.append(
                Row(f"single events, c={c}: events/s", _rate(s), ">= 3,000 ev/s", s["events_per_s"] >= 3000)
            )
            rows.append(Row(f"single events, c={c}: latency", _latency(s), "p99 < 50 ms", s["p99_ms"] < 50))
            rows.append(
                Row(
                    f"single events, c={c}: ratio to the trivial endpoint",
                    f"{ratio:.2f}",
                    ">= 0.50",
                    ratio >= 0.5,
                )
            )
        else:
            rows.append(Row(f"single events, c={c}: events/s", _rate(s), "-", None))
            rows.append(Row(f"single events, c={c}: latency", _latency(s), "-", None))
            rows.append(
                Row(f"single events, c={c}: ratio to the trivial endpoint", f"{ratio:.2f}", "-", None)
            )
        rows.append(Row(f"single events, c={c}: CPU per event", _cpu(s), "-", None))
        rows += _problems(f"single c={c}", s)
    copy_ratio = batches["events_per_s"] / copy_rate if copy_rate else float("nan")
    direct_copy_ratio = direct_batches["events_per_s"] / copy_rate if copy_rate else float("nan")
    trivial_64 = trivial[64]["events_per_s"]
    direct_ratio = direct["events_per_s"] / trivial_64 if trivial_64 else float("nan")
    rows += [
        Row(
            f"batches of {BATCH}, c={BATCH_CONCURRENCY}: events/s",
            _rate(batches),
            ">= 40,000 ev/s",
            batches["events_per_s"] >= 40_000,
        ),
        Row(f"batches of {BATCH}, c={BATCH_CONCURRENCY}: latency per request", _latency(batches), "-", None),
        Row(f"batches of {BATCH}: ratio to raw COPY", f"{copy_ratio:.2f}", ">= 0.50", copy_ratio >= 0.5),
        Row(f"batches of {BATCH}: CPU per event", _cpu(batches), "-", None),
        *_problems("batches", batches),
        Row(
            f"batches of {BATCH}, c={BATCH_CONCURRENCY}, straight to analytics: events/s",
            _rate(direct_batches),
            ">= 40,000 ev/s",
            direct_batches["events_per_s"] >= 40_000,
        ),
        Row(
            f"batches of {BATCH}, straight to analytics: ratio to raw COPY",
            f"{direct_copy_ratio:.2f}",
            ">= 0.50",
            direct_copy_ratio >= 0.5,
        ),
        Row(f"batches of {BATCH}, straight to analytics: CPU per event", _cpu(direct_batches), "-", None),
        *_problems("direct batches", direct_batches),
        Row("single events, c=64, straight to analytics (no edge)", _rate(direct), "-", None),
        Row(
            "single events, c=64, alternating rounds: through the edge / straight",
            f"{share['edge']:,.0f} / {share['direct']:,.0f} ev/s = {share['ratio']:.2f}",
            ">= 0.90",
            share["ratio"] >= 0.9,
        ),
        Row(
            "single events, c=64, straight to analytics: ratio to the trivial endpoint",
            f"{direct_ratio:.2f}",
            ">= 0.50",
            direct_ratio >= 0.5,
        ),
        Row(
            "single events, c=64, straight to analytics: latency",
            _latency(direct),
            "p99 < 50 ms",
            direct["p99_ms"] < 50,
        ),
        Row("single events, c=64, straight to analytics: CPU per event", _cpu(direct), "-", None),
        *_problems("direct c=64", direct),
        Row(
            "events stored vs counted (warm-up included in stored)",
            f"{stored:,} / {counted:,}",
            "stored >= counted",
            stored >= counted,
        ),
    ]
    return rows
