"""Groups concurrent webhook deliveries into one database transaction.

Each request hands its verified delivery over and waits; a few flush workers take everything
queued so far (up to a size limit), apply it in one transaction and, only after the commit,
answer every request of the group. Under load many requests share one round trip and one
commit; alone, a request is flushed at once. If a group fails, its deliveries are retried one
by one so one bad delivery cannot fail the others.

With tracing on, each flush is an `ingest.flush` span of its own (it belongs to no one request),
linked to the spans of the requests whose deliveries it wrote; its statements are its children.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
from collections.abc import Callable

import structlog
from opentelemetry.trace import SpanContext

from services.analytics.ingest.schemas import IngestResult
from services.analytics.ingest.service import Delivery, apply_deliveries
from shared.db import Database
from shared.tracing import Tracing

log = structlog.get_logger(__name__)

Pending = tuple[Delivery, "asyncio.Future[IngestResult]", SpanContext | None]
"""A delivery, its request's answer to come, and the request's span (traced and sampled) to link to."""


class IngestBatcher:
    """Applies deliveries in groups; `submit` returns once the delivery is committed."""

    def __init__(
        self,
        db: Database,
        *,
        workers: int = 2,
        max_group_events: int = 5000,
        on_commit: Callable[[], None] | None = None,
        tracing: Tracing | None = None,
    ) -> None:
        self.db = db
        self.on_commit = on_commit
        self.tracing = tracing or Tracing()
        self.workers = workers
        self.max_group_events = max_group_events
        self._queue: asyncio.Queue[Pending] | None = None
        self._tasks: list[asyncio.Task[None]] = []

    def _start(self) -> asyncio.Queue[Pending]:
        if self._queue is None:
            self._queue = asyncio.Queue()
            self._tasks = [
                # A context of their own: started by the first request, they must not carry its
                # correlation id or trace into every later flush.
                asyncio.create_task(
                    self._work(self._queue), name=f"ingest-flush-{n}", context=contextvars.Context()
                )
                for n in range(self.workers)
            ]
        return self._queue

    async def submit(self, delivery: Delivery) -> IngestResult:
        """Apply a delivery (with whatever else is waiting); returns its result after the commit."""
        future: asyncio.Future[IngestResult] = asyncio.get_running_loop().create_future()
        self._start().put_nowait((delivery, future, self.tracing.current_span_context()))
        return await future

    async def stop(self) -> None:
        """Finish what is queued, then stop the workers."""
        if self._queue is None:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._queue.join(), timeout=30)
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._queue, self._tasks = None, []

    async def _work(self, queue: asyncio.Queue[Pending]) -> None:
        while True:
            group = [await queue.get()]
            size = len(group[0][0].events)
            while size < self.max_group_events and not queue.empty():
                item = queue.get_nowait()
                group.append(item)
                size += len(item[0].events)
            try:
                await self._flush(group)
            finally:
                for _ in group:
                    queue.task_done()

    async def _flush(self, group: list[Pending]) -> None:
        attributes = {
            "analytics.ingest.deliveries": len(group),
            "analytics.ingest.events": sum(len(d.events) for d, _, _ in group),
        }
        try:
            with self.tracing.linked("ingest.flush", [c for _, _, c in group], attributes):
                async with self.db.transaction() as session:
                    results = await apply_deliveries(session, [d for d, _, _ in group])
        except Exception as exc:
            if len(group) == 1:
                _settle(group[0][1], error=exc)
                return
            log.warning("ingest_group_failed_retrying_alone", size=len(group), error=repr(exc))
            for item in group:
                await self._flush([item])
            return
        if self.on_commit is not None:
            self.on_commit()
        for (_, future, _), result in zip(group, results, strict=True):
            _settle(future, result=result)


def _settle(
    future: asyncio.Future[IngestResult],
    *,
    result: IngestResult | None = None,
    error: BaseException | None = None,
) -> None:
    if future.done():
        return
    if error is not None:
        future.set_exception(error)
    else:
        assert result is not None
        future.set_result(result)
