"""The metrics that matter beyond HTTP: background job runs, and the gauges read from the database
and the bus when `/metrics` is scraped.

Counters move where things happen (events ingested, consumed, dead-lettered, relayed; job runs).
What is a state rather than an event (outbox backlog and its oldest age, events waiting to be
counted, dead letters in a topic) is read at scrape time by the service's samplers, so that a stuck
relay or worker shows as a growing number instead of a frozen one. Consumer lag is reported by
the bus as it consumes (`shared.bus.base.CONSUMER_LAG`). Every replica reports the shared state
of its service's schema alike: dashboards take the `max` by service.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import structlog
from prometheus_client import Counter, Gauge, Histogram

log = structlog.get_logger(__name__)

JOB_RUNS = Counter(
    "job_runs_total", "Background job passes by outcome (ok, failed)", ["service", "job", "outcome"]
)
JOB_DURATION = Histogram(
    "job_run_duration_seconds",
    "How long a background job pass took",
    ["service", "job"],
    buckets=(0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 1800),
)
JOB_LAST_SUCCESS = Gauge(
    "job_last_success_timestamp_seconds",
    "When a background job pass last succeeded (Unix time)",
    ["service", "job"],
)
SAMPLE_FAILURES = Counter(
    "metrics_sample_failures_total",
    "Scrape-time readings that failed or timed out (their gauges keep the last value)",
    ["service", "sampler"],
)


@contextlib.asynccontextmanager
async def job_run(service: str, job: str) -> AsyncIterator[None]:
    """Count one pass of a background job: ok when the block returns, failed when it raises."""
    started = time.perf_counter()
    try:
        yield
    except asyncio.CancelledError:
        raise  # stopping is no failure
    except Exception:
        JOB_RUNS.labels(service, job, "failed").inc()
        raise
    else:
        JOB_RUNS.labels(service, job, "ok").inc()
        JOB_LAST_SUCCESS.labels(service, job).set(time.time())
    finally:
        JOB_DURATION.labels(service, job).observe(time.perf_counter() - started)


Sampler = Callable[[], Awaitable[None]]
"""Reads a state and sets its gauges."""


@dataclass(slots=True)
class _Entry:
    name: str
    sample: Sampler
    every_s: float
    last: float = float("-inf")


class Samplers:
    """The readings a service takes when scraped: each at most every `every_s` seconds, all at once,
    each cut at `timeout_s` (a database or broker that does not answer delays no scrape for long)."""

    def __init__(self, service: str, *, timeout_s: float = 3.0) -> None:
        self.service = service
        self.timeout_s = timeout_s
        self._entries: list[_Entry] = []
        self._lock = asyncio.Lock()

    def add(self, name: str, sample: Sampler, *, every_s: float = 0.0) -> None:
        """Read `sample` at scrapes, no more often than every `every_s` seconds."""
        self._entries.append(_Entry(name, sample, every_s))

    async def refresh(self) -> None:
        """Take the readings that are due (concurrent scrapes share one round)."""
        async with self._lock:
            now = time.monotonic()
            due = [e for e in self._entries if now - e.last >= e.every_s]
            for entry in due:
                entry.last = now
            await asyncio.gather(*(self._take(e) for e in due))

    async def _take(self, entry: _Entry) -> None:
        try:
            await asyncio.wait_for(entry.sample(), timeout=self.timeout_s)
        except Exception as exc:
            SAMPLE_FAILURES.labels(self.service, entry.name).inc()
            log.warning("metrics_sample_failed", service=self.service, sampler=entry.name, error=repr(exc))
