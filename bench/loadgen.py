"""A lean HTTP load generator for signed webhooks, run as its own process(es).

    python -m bench.loadgen --url http://127.0.0.1:8000 --path /api/analytics/webhooks/<id>/events \
        --secret whsec_... --concurrency 64 --batch 1 --duration 10 --processes 2

Each worker process keeps `concurrency / processes` keep-alive HTTP/1.1 connections busy with
raw asyncio streams (no client library in the way, so the client costs little CPU), signs every
request the Standard Webhooks way with unique webhook and event ids, and times each round trip.
An event counts only when the answer is 200 and says it was `accepted` (the service answers
after its commit). Prints one JSON object: requests, events, errors, seconds, rates, latencies.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import os
import sys
import time
import uuid
from typing import Any
from urllib.parse import urlsplit

import orjson

from services.analytics.ingest.signing import signed_headers


def make_event(event_id: str) -> dict[str, Any]:
    """One platform-JSON usage event."""
    return {
        "event_id": event_id,
        "type": "feature_used",
        "occurred_at": "2026-03-02T08:00:00Z",
        "user_id": f"u-{hash(event_id) % 500}",
        "feature": "quiz",
    }


class Connection:
    """One keep-alive HTTP/1.1 connection."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, head: bytes, body: bytes) -> tuple[int, bytes]:
        """Send one request; returns (status, body)."""
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        self.writer.write(head + body)
        raw = await self.reader.readuntil(b"\r\n\r\n")
        lines = raw.split(b"\r\n")
        status = int(lines[0].split(b" ", 2)[1])
        length = 0
        close = False
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"connection" and value.strip().lower() == b"close":
                close = True
            elif name == b"transfer-encoding":
                raise RuntimeError("chunked answers are not supported by this load generator")
        content = await self.reader.readexactly(length) if length else b""
        if close:
            self.close()
        return status, content

    def close(self) -> None:
        """Drop the connection (reopened on the next request)."""
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


async def _client(
    conn: Connection,
    args: argparse.Namespace,
    prefix: str,
    start_at: float,
    stop_at: float,
    out: dict[str, Any],
) -> None:
    host = urlsplit(args.url).netloc
    n = 0
    while True:
        now = time.perf_counter()
        if now >= stop_at:
            return
        n += 1
        ids = [f"{prefix}-{n}-{i}" for i in range(args.batch)]
        doc: Any = make_event(ids[0]) if args.batch == 1 else {"events": [make_event(i) for i in ids]}
        body = orjson.dumps(doc)
        webhook_id = f"msg_{prefix}-{n}"
        headers = signed_headers(args.secret, webhook_id, int(time.time()), body) if args.secret else {}
        head = (
            f"POST {args.path} HTTP/1.1\r\nhost: {host}\r\ncontent-type: application/json\r\n"
            f"content-length: {len(body)}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
        ).encode()
        started = time.perf_counter()
        try:
            status, content = await conn.request(head, body)
        except (OSError, asyncio.IncompleteReadError, ValueError, RuntimeError) as exc:
            conn.close()
            out["errors"] += 1
            out["last_error"] = repr(exc)
            continue
        finished = time.perf_counter()
        if status == 200:
            out["events_total"] += orjson.loads(content).get("accepted", 0)
        if started < start_at or finished > stop_at:
            continue  # warm-up or cool-down: not measured
        out["requests"] += 1
        if status == 200:
            out["events"] += orjson.loads(content).get("accepted", 0)
            out["latencies"].append(finished - started)
        else:
            out["errors"] += 1
            out["last_error"] = f"{status} {content[:300]!r}"


async def _worker_main(args: argparse.Namespace, connections: int, index: int) -> dict[str, Any]:
    parts = urlsplit(args.url)
    prefix = f"{args.run_id}-{index}-{os.getpid()}"
    out: dict[str, Any] = {
        "requests": 0,
        "events": 0,
        "events_total": 0,
        "errors": 0,
        "latencies": [],
        "last_error": None,
    }
    start_at = time.perf_counter() + args.warmup
    stop_at = start_at + args.duration
    conns = [Connection(parts.hostname or "127.0.0.1", parts.port or 80) for _ in range(connections)]
    await asyncio.gather(
        *(_client(c, args, f"{prefix}-{k}", start_at, stop_at, out) for k, c in enumerate(conns))
    )
    for c in conns:
        c.close()
    return out


def _worker(args: argparse.Namespace, connections: int, index: int, queue: mp.Queue[Any]) -> None:
    try:
        import uvloop

        uvloop.install()
    except ImportError:  # pragma: no cover
        pass
    queue.put(asyncio.run(_worker_main(args, connections, index)))


def _percentile(ordered: list[float], pct: float) -> float:
    if not ordered:
        return float("nan")
    index = max(0, min(len(ordered) - 1, round(pct / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Run the worker processes and merge their results."""
    processes = max(1, min(args.processes, args.concurrency))
    shares = [
        args.concurrency // processes + (1 if i < args.concurrency % processes else 0)
        for i in range(processes)
    ]
    ctx = mp.get_context("fork")
    queue: mp.Queue[Any] = ctx.Queue()
    procs = [ctx.Process(target=_worker, args=(args, share, i, queue)) for i, share in enumerate(shares)]
    for p in procs:
        p.start()
    parts = [queue.get(timeout=args.warmup + args.duration + 60) for _ in procs]
    for p in procs:
        p.join()
    latencies = sorted(x for part in parts for x in part["latencies"])
    requests = sum(p["requests"] for p in parts)
    events = sum(p["events"] for p in parts)
    return {
        "concurrency": args.concurrency,
        "batch": args.batch,
        "processes": processes,
        "seconds": args.duration,
        "requests": requests,
        "events": events,
        "events_total": sum(p["events_total"] for p in parts),
        "errors": sum(p["errors"] for p in parts),
        "last_error": next((p["last_error"] for p in parts if p["last_error"]), None),
        "requests_per_s": requests / args.duration,
        "events_per_s": events / args.duration,
        "p50_ms": _percentile(latencies, 50) * 1000,
        "p95_ms": _percentile(latencies, 95) * 1000,
        "p99_ms": _percentile(latencies, 99) * 1000,
    }


def main(argv: list[str] | None = None) -> int:
    """Command line entry point: prints the merged result as one JSON object."""
    parser = argparse.ArgumentParser(prog="python -m bench.loadgen", description=__doc__)
    parser.add_argument("--url", required=True, help="base URL, e.g. http://127.0.0.1:8000")
    parser.add_argument("--path", required=True, help="request path")
    parser.add_argument("--secret", default="", help="integration secret whsec_... (empty: unsigned)")
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--batch", type=int, default=1, help="events per request (1: a single event object)")
    parser.add_argument("--duration", type=float, default=10.0, help="measured seconds")
    parser.add_argument("--warmup", type=float, default=1.0, help="unmeasured seconds first")
    parser.add_argument("--processes", type=int, default=1, help="client processes sharing the connections")
    parser.add_argument("--run-id", default=uuid.uuid4().hex[:10], help="prefix of every generated id")
    args = parser.parse_args(argv)
    sys.stdout.write(orjson.dumps(run(args)).decode() + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
