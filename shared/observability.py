"""Structured logs, the correlation id (HTTP and Kafka headers) and Prometheus metrics."""

from __future__ import annotations

import logging
import re
import sys
import time
import uuid
from contextvars import ContextVar
from typing import Any

import structlog
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CORRELATION_HEADER = "X-Correlation-ID"
CORRELATION_ID_PATTERN = r"[A-Za-z0-9._:-]{1,128}"
"""A correlation id taken from a caller; anything else is replaced by a new one (it is logged)."""
_CORRELATION_ID = re.compile(CORRELATION_ID_PATTERN)
_correlation_id: ContextVar[str | None] = ContextVar("correlation_id", default=None)

HTTP_REQUESTS = Counter("http_requests_total", "HTTP requests", ["service", "method", "route", "status"])
HTTP_LATENCY = Histogram(
    "http_request_duration_seconds",
    "HTTP request latency",
    ["service", "method", "route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)

_configured = False


def configure_logging(*, level: str = "INFO", json: bool = False) -> None:
    """Route stdlib and structlog logs through one renderer (JSON lines in production)."""
    global _configured
    if _configured:
        return
    _configured = True
    shared_processors: list[structlog.typing.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[*shared_processors, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared_processors,
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                renderer,
            ],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("aiokafka", "kafka", "httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))


def current_correlation_id() -> str | None:
    """The correlation id of the request or event being handled, if any."""
    return _correlation_id.get()


def bind_correlation_id(value: str | None) -> str:
    """Make `value` (or a new id) the current correlation id, for logs and outgoing headers."""
    cid = value if value and _CORRELATION_ID.fullmatch(value) else str(uuid.uuid4())
    _correlation_id.set(cid)
    structlog.contextvars.bind_contextvars(correlation_id=cid)
    return cid


_QUIET_PATHS = frozenset({"/health/live", "/health/ready", "/metrics"})
_SAMPLED_ROUTES: dict[str, int] = {}
_SLOW_MS: dict[str, float] = {}
_CORRELATION_KEY = CORRELATION_HEADER.lower().encode()


def sample_request_logs(route: str, *, every: int, slow_ms: float = 250.0) -> None:
    """Log only one in `every` successful fast requests of `route` (a route template); errors
    (status >= 400) and requests slower than `slow_ms` are always logged."""
    _SAMPLED_ROUTES[route] = max(1, every)
    _SLOW_MS[route] = slow_ms


class RouteLabel:
    """A stand-in for a route on requests served outside the router: the metrics and logs of
    `RequestContextMiddleware` label them with `path` (a route template) via `scope["route"]`."""

    def __init__(self, path: str) -> None:
        self.path = path


class RequestContextMiddleware:
    """Binds the correlation id, echoes it back, logs each request and records metrics.

    Hot routes registered with `sample_request_logs` log one request in N (never dropping errors
    or slow ones); metric children are cached per label set so each request costs two dict hits.
    """

    def __init__(self, app: ASGIApp, *, service: str) -> None:
        self.app = app
        self.service = service
        self._metrics: dict[tuple[str, str, str], tuple[Any, Any]] = {}
        self._seen: dict[str, int] = {}
        self._log = structlog.get_logger("http")

    def _record(self, method: str, path: str, status: int, elapsed: float) -> None:
        key = (method, path, str(status))
        children = self._metrics.get(key)
        if children is None:
            children = self._metrics[key] = (
                HTTP_REQUESTS.labels(self.service, method, path, key[2]),
                HTTP_LATENCY.labels(self.service, method, path),
            )
        children[0].inc()
        children[1].observe(elapsed)

    def _should_log(self, path: str, status: int, elapsed: float) -> int | None:
        """None: skip; otherwise the sampling rate the logged line stands for."""
        if path in _QUIET_PATHS:
            return None
        every = _SAMPLED_ROUTES.get(path)
        if every is None:
            return 1
        if status >= 400 or elapsed * 1000 >= _SLOW_MS.get(path, 250.0):
            return 1
        seen = self._seen.get(path, 0) + 1
        self._seen[path] = seen
        return every if seen % every == 1 or every == 1 else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = None
        for key, value in scope["headers"]:
            if key.lower() == _CORRELATION_KEY:
                incoming = value.decode("latin-1")
                break
        structlog.contextvars.clear_contextvars()
        cid = bind_correlation_id(incoming)
        cid_header = (_CORRELATION_KEY, cid.encode())
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), cid_header]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            route = scope.get("route")
            path = getattr(route, "path", None) or "unmatched"
            elapsed = time.perf_counter() - started
            self._record(scope["method"], path, status, elapsed)
            rate = self._should_log(path, status, elapsed)
            if rate is not None:
                fields: dict[str, Any] = {"sampled": rate} if rate > 1 else {}
                self._log.info(
                    "request",
                    service=self.service,
                    method=scope["method"],
                    path=scope["path"],
                    status=status,
                    ms=round(elapsed * 1000, 2),
                    **fields,
                )


async def metrics_endpoint(_: Request) -> Response:
    """Prometheus metrics in the text exposition format."""
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
