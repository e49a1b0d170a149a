"""Shared pieces of the benchmarks: a cluster of real processes, timing and reporting."""

from __future__ import annotations

import asyncio
import contextlib
import os
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from shared.cluster import UNTHROTTLED, LocalCluster, fresh_cluster
from shared.testing import broker_from_env, free_port

ADMIN_URL = os.environ.get("TEST_POSTGRES_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


@dataclass
class Row:
    """One printed figure with its target."""

    name: str
    value: str
    target: str
    met: bool | None

    def line(self) -> str:
        verdict = "" if self.met is None else ("  ok" if self.met else "  MISSED")
        return f"  {self.name:<58} {self.value:>22}   target {self.target}{verdict}"


def percentile(samples: list[float], pct: float) -> float:
    """The pct-th percentile (nearest rank) of samples."""
    if not samples:
        return float("nan")
    ordered = sorted(samples)
    index = max(0, min(len(ordered) - 1, round(pct / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


def summary_ms(samples_s: list[float]) -> str:
    """p50/p95/p99 in milliseconds."""
    ms = [s * 1000 for s in samples_s]
    return f"p50 {percentile(ms, 50):.2f} p95 {percentile(ms, 95):.2f} p99 {percentile(ms, 99):.2f} ms"


def mean(samples: list[float]) -> float:
    """Arithmetic mean (nan when empty)."""
    return statistics.fmean(samples) if samples else float("nan")


def peak_rss_mb(pid: int) -> float:
    """Peak resident memory (VmHWM) of a process, in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


@contextlib.contextmanager
def bench_cluster(workdir: Path, **extra_env: str) -> Iterator[tuple[LocalCluster, str]]:
    """The platform as processes (nginx at the edge, its rate limits out of reach) on a fresh
    database and broker; yields (cluster, db url)."""
    with (
        broker_from_env() as bootstrap,
        fresh_cluster(
            admin_url=ADMIN_URL,
            database_name=f"edtech_bench_{uuid.uuid4().hex[:6]}",
            kafka_bootstrap=bootstrap,
            workdir=workdir,
            extra_env={**UNTHROTTLED, **extra_env},
        ) as (cluster, database_url),
    ):
        yield cluster, database_url


def timed() -> float:
    """A monotonic high-resolution clock reading in seconds."""
    return time.perf_counter()


@contextlib.asynccontextmanager
async def uvicorn_process(
    app: str, *, log_file: Path, ready_path: str, env: dict[str, str] | None = None, factory: bool = False
) -> AsyncIterator[tuple[str, int]]:
    """An ASGI app under uvicorn in its own process on a free port; yields (its URL, its pid)."""
    port = free_port()
    log = open(log_file, "ab")  # noqa: SIM115, ASYNC230 (kept open by the child)
    proc = subprocess.Popen(  # noqa: ASYNC220 (a server process, started once)
        [
            sys.executable,
            "-m",
            "uvicorn",
            app,
            *(["--factory"] if factory else []),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--no-access-log",
            "--log-level",
            "warning",
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        async with httpx.AsyncClient(base_url=url) as client:
            while True:
                with contextlib.suppress(httpx.HTTPError):
                    if (await client.get(ready_path)).status_code == 200:
                        break
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError(f"{app} did not start; see {log_file}")
                await asyncio.sleep(0.1)
        yield url, proc.pid
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
