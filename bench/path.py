"""The platform path: the edge's added latency, and an event's trip from the outbox to a consumer's
stored effect through the broker."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
import httpx
from sqlalchemy.engine import make_url

from bench.harness import Row, percentile, summary_ms, timed
from services.demo import dev_headers
from shared.cluster import LocalCluster


async def edge_hop(cluster: LocalCluster, *, requests: int = 1500) -> list[Row]:
    """p50 of the same GET through the edge (nginx) and directly against the service, interleaved."""
    district = f"bench-{uuid.uuid4().hex[:6]}"
    async with (
        httpx.AsyncClient(base_url=cluster.public_url) as gw,
        httpx.AsyncClient(base_url=cluster.url("catalog")) as direct,
    ):
        headers = await dev_headers(gw, district, "edtech")
        await gw.post("/api/catalog/tools", json={"name": "Bench tool"}, headers=headers)
        path = "/api/catalog/tools?limit=1"
        for client in (gw, direct):  # warm both connection pools
            for _ in range(50):
                (await client.get(path, headers=headers)).raise_for_status()
        via_edge: list[float] = []
        straight: list[float] = []
        for _ in range(requests):
            for client, samples in ((direct, straight), (gw, via_edge)):
                started = timed()
                r = await client.get(path, headers=headers)
                samples.append(timed() - started)
                r.raise_for_status()
    added_ms = (percentile(via_edge, 50) - percentile(straight, 50)) * 1000
    return [
        Row("GET /api/catalog/tools directly (baseline)", summary_ms(straight)[:28], "-", None),
        Row("GET /api/catalog/tools through the edge", summary_ms(via_edge)[:28], "-", None),
        Row("edge hop (nginx): added latency at p50", f"{added_ms:.2f} ms", "<= 0.2 ms", added_ms <= 0.2),
    ]


async def event_path(cluster: LocalCluster, database_url: str, *, events: int = 150) -> list[Row]:
    """Register tools in catalog; time until the pilots consumer has stored each tool-registered event."""
    district = f"bench-{uuid.uuid4().hex[:6]}"
    url = make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)
    conn = await asyncpg.connect(url)
    latencies: list[float] = []
    try:
        async with httpx.AsyncClient(base_url=cluster.public_url) as gw:
            headers = await dev_headers(gw, district, "edtech")
            for i in range(events):
                started = timed()
                r = await gw.post("/api/catalog/tools", json={"name": f"Tool {i}"}, headers=headers)
                r.raise_for_status()
                tool_id = r.json()["id"]
                event_id = await conn.fetchval(
                    "SELECT event_id FROM catalog.outbox_event WHERE key = $1 ORDER BY id LIMIT 1", tool_id
                )
                while not await conn.fetchval(
                    "SELECT 1 FROM pilots.processed_event WHERE event_id = $1", event_id
                ):
                    if timed() - started > 10:
                        raise TimeoutError(f"event {event_id} not consumed by pilots after 10 s")
                    await asyncio.sleep(0.002)
                latencies.append(timed() - started)
    finally:
        await conn.close()
    p95_ms = percentile(latencies, 95) * 1000
    return [
        Row(f"outbox -> pilots' stored effect ({events} events)", summary_ms(latencies)[:28], "-", None),
        Row("event path at p95 (request to consumer commit)", f"{p95_ms:.1f} ms", "< 250 ms", p95_ms < 250),
    ]
