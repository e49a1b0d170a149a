"""The gateway's sharded transport: several small pools behind one client, all answering."""

from __future__ import annotations

import asyncio

import httpx

from services.gateway.transport import ShardedTransport
from tests.gateway.conftest import Recorder, echo_app, serve_in_thread


async def test_concurrent_requests_spread_over_small_pools_and_all_answer() -> None:
    transport = ShardedTransport(max_connections=20, per_pool=4)
    recorder = Recorder()
    with serve_in_thread(echo_app(recorder, delay_s=0.05)) as base:
        async with httpx.AsyncClient(transport=transport, base_url=base) as client:
            responses = await asyncio.gather(*(client.get(f"/item/{i}") for i in range(40)))
            pools_with_connections = [pool for pool in transport._pools if pool._pool.connections]
    assert transport.pool_count == 5
    assert len(pools_with_connections) == 5
    assert [r.status_code for r in responses] == [200] * 40
    assert sorted(r.json()["path"] for r in responses) == sorted(f"/item/{i}" for i in range(40))
