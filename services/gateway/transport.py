"""An httpx transport made of several small connection pools.

httpcore's pool bookkeeping walks its connections for every queued request and, for each idle
connection, all connections again: its cost grows with the square of the pool's size. Under
64 concurrent requests to one service that bookkeeping was most of the gateway's CPU. Several
small pools, used in turn, keep every walk short while allowing the same number of connections.
"""

from __future__ import annotations

import itertools
import math

import httpx

CONNECTIONS_PER_POOL = 8


class ShardedTransport(httpx.AsyncBaseTransport):
    """Round-robin over small `httpx.AsyncHTTPTransport` pools (one client, many short pools)."""

    def __init__(self, *, max_connections: int, per_pool: int = CONNECTIONS_PER_POOL) -> None:
        pools = max(1, math.ceil(max_connections / per_pool))
        limits = httpx.Limits(max_connections=per_pool, max_keepalive_connections=per_pool)
        self._pools = [httpx.AsyncHTTPTransport(limits=limits) for _ in range(pools)]
        self._next = itertools.cycle(range(pools))

    @property
    def pool_count(self) -> int:
        """How many pools requests are spread over."""
        return len(self._pools)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send the request through the next pool."""
        return await self._pools[next(self._next)].handle_async_request(request)

    async def aclose(self) -> None:
        """Close every pool."""
        for pool in self._pools:
            await pool.aclose()
