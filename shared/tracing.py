"""Traces (OpenTelemetry): off unless an OTLP receiver is configured; then HTTP, SQL and the event path.

On when `<SERVICE>_OTLP_ENDPOINT`, or the standard `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` /
`OTEL_EXPORTER_OTLP_ENDPOINT`, names an OTLP/HTTP receiver (`OTEL_SDK_DISABLED=true` keeps it off).
Each service gets a tracer provider of its own, named by `OTEL_SERVICE_NAME` or else the service's
name, so a process running several (the embedded default) reports each under its own name. The
standard `OTEL_TRACES_SAMPLER`, `OTEL_BSP_*` and `OTEL_EXPORTER_OTLP_HEADERS` variables apply. Off,
none of the SDK is set up: no instrumentation, no span, only a check of the current span where an
event is written.

One trace follows a request through the event path:
- `Outbox.add` records the current context in the envelope, as the CloudEvents distributed-tracing
  extension (`traceparent`, `tracestate`: `ce_traceparent` on Kafka), in the transaction of the change;
- the relay sends each event in a `send <topic>` PRODUCER span, child of that context, and puts the
  span's own context in the record's W3C `traceparent` / `tracestate` headers;
- the consumer handles the record in a `process <topic>` CONSUMER span, child of those headers (else
  of the extension), around the handler's transaction, whose statements and events are its children.

Calls between services over HTTP carry it too: a client `peer` builds or is given (catalog -> analytics,
pilots -> catalog and analytics) is instrumented (httpx's instrumentation), each call a CLIENT span
below the current one whose context goes out in the request's `traceparent`, where the other service's
request span continues the trace.

Work done for several requests at once (analytics' batched write of many webhook deliveries) is a
span of its own (`linked`): the root of a trace of its own, linked to each request's span (span links),
its statements and the events it writes below it; it is sampled when one of those requests was.

Database statements are traced inside such work only: a job's or the relay's poll is no trace of its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import Link, Span, SpanContext, SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from shared import VERSION
from shared.bus.base import IncomingMessage, OutgoingMessage
from shared.events.envelope import CE_PREFIX

if TYPE_CHECKING:
    import httpx
    from fastapi import FastAPI
    from opentelemetry.sdk.trace import TracerProvider
    from sqlalchemy.ext.asyncio import AsyncEngine
    from starlette.types import ASGIApp

    from shared.config import ServiceSettings

TRACE_HEADERS = ("traceparent", "tracestate")
"""The W3C trace-context fields: Kafka headers (transport) and CloudEvents extension attributes."""
_W3C = TraceContextTextMapPropagator()
_NOT_TRACED = "/health/,/metrics"
"""Requests never traced (probes and scrapes)."""


def current_trace_context() -> dict[str, str]:
    """The current span's W3C `traceparent` (and `tracestate`), or nothing outside a recorded span."""
    if not trace.get_current_span().get_span_context().is_valid:
        return {}  # tracing off, or no traced work: the cheap path
    carrier: dict[str, str] = {}
    _W3C.inject(carrier)
    return carrier


def _context_of(headers: Mapping[str, str]) -> Context | None:
    """The trace context a record carries: its W3C headers, else the event's extension attributes."""
    for prefix in ("", CE_PREFIX):
        carrier = {name: headers[prefix + name] for name in TRACE_HEADERS if prefix + name in headers}
        if "traceparent" in carrier:
            context = _W3C.extract(carrier)
            if trace.get_current_span(context).get_span_context().is_valid:
                return context
    return None


def _event_attributes(headers: Mapping[str, str]) -> dict[str, str]:
    """The CloudEvents semantic-convention attributes of a binary-mode record's `ce_` headers."""
    out = {
        f"cloudevents.event_{name}": headers[CE_PREFIX + name]
        for name in ("id", "type", "source", "subject")
        if CE_PREFIX + name in headers
    }
    if "cloudevents.event_id" in out:
        out["messaging.message.id"] = out["cloudevents.event_id"]
    return out


class Tracing:
    """A service's traces: its tracer provider when on; every method is a no-op when off."""

    def __init__(self, provider: TracerProvider | None = None) -> None:
        self.provider = provider
        self.enabled = provider is not None
        self._tracer = provider.get_tracer("edtech-platform", VERSION) if provider is not None else None

    def instrument_app(self, app: FastAPI) -> None:
        """Trace the app's requests with FastAPI's own instrumentation (probes and scrapes excepted)."""
        if self.provider is None:
            return
        from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

        FastAPIInstrumentor.instrument_app(
            app, tracer_provider=self.provider, excluded_urls=_NOT_TRACED, exclude_spans=["receive", "send"]
        )

    def asgi(self, app: ASGIApp) -> ASGIApp:
        """`app` traced as FastAPI's instrumentation traces a route: for requests a service serves
        in front of FastAPI, whose `scope["route"]` names their route template."""
        if self.provider is None:
            return app
        from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware

        def span_details(scope: Any) -> tuple[str, dict[str, str]]:
            route = getattr(scope.get("route"), "path", None) or scope.get("path", "")
            return f"{scope.get('method', 'HTTP')} {route}", {"http.route": route}

        return OpenTelemetryMiddleware(
            app,
            excluded_urls=_NOT_TRACED,
            default_span_details=span_details,
            tracer_provider=self.provider,
            exclude_spans=["receive", "send"],
        )

    def instrument_client(self, client: httpx.AsyncClient) -> None:
        """Trace the client's calls (httpx's instrumentation, on this client alone, with this service's
        provider): a CLIENT span each, whose context the request carries in `traceparent`. The
        services call each other within a request, so the call is that request's child; a call
        outside traced work would be dropped by the sampler and its callee told so (not sampled)."""
        if self.provider is None:
            return
        from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor

        HTTPXClientInstrumentor.instrument_client(client, tracer_provider=self.provider)

    def instrument_engine(self, engine: AsyncEngine) -> None:
        """Trace the engine's statements (SQLAlchemy's instrumentation), inside traced work only."""
        if self.provider is None:
            return
        from opentelemetry.instrumentation.sqlalchemy import __version__
        from opentelemetry.instrumentation.sqlalchemy.engine import EngineTracer
        from opentelemetry.metrics import NoOpMeter

        # The engine's own tracer, not SQLAlchemyInstrumentor().instrument(): that one is a process-wide
        # singleton which also patches create_engine for every engine made later, so a second
        # service in the process (the embedded default) would go untraced or report as the first.
        EngineTracer(
            self.provider.get_tracer("opentelemetry.instrumentation.sqlalchemy", __version__),
            engine.sync_engine,
            NoOpMeter("sqlalchemy").create_up_down_counter("db.client.connections.usage"),
        )

    @contextlib.contextmanager
    def sending(self, messages: Sequence[OutgoingMessage]) -> Iterator[list[OutgoingMessage]]:
        """A `send <topic>` span per message, child of the context its event was written in; yields
        the messages with each span's context in their headers. An error raised inside marks them."""
        if self._tracer is None:
            yield list(messages)
            return
        spans: list[Span] = []
        traced: list[OutgoingMessage] = []
        for message in messages:
            span = self._tracer.start_span(
                f"send {message.topic}",
                context=_context_of(message.headers),
                kind=SpanKind.PRODUCER,
                attributes={
                    "messaging.system": "kafka",
                    "messaging.operation.type": "send",
                    "messaging.operation.name": "send",
                    "messaging.destination.name": message.topic,
                    "messaging.kafka.message.key": message.key,
                    **_event_attributes(message.headers),
                },
            )
            spans.append(span)
            headers = {k: v for k, v in message.headers.items() if k not in TRACE_HEADERS}
            _W3C.inject(headers, context=trace.set_span_in_context(span))
            traced.append(OutgoingMessage(message.topic, message.key, message.value, headers))
        try:
            yield traced
        except BaseException as exc:
            for span in spans:
                span.record_exception(exc)
                span.set_status(Status(StatusCode.ERROR, f"{type(exc).__name__}: {exc}"))
            raise
        finally:
            for span in spans:
                span.end()

    @contextlib.contextmanager
    def processing(self, message: IncomingMessage, *, group: str) -> Iterator[Span | None]:
        """The current `process <topic>` span of a consumed record, child of the context it carries."""
        if self._tracer is None:
            yield None
            return
        with self._tracer.start_as_current_span(
            f"process {message.topic}",
            context=_context_of(message.headers),
            kind=SpanKind.CONSUMER,
            attributes={
                "messaging.system": "kafka",
                "messaging.operation.type": "process",
                "messaging.operation.name": "process",
                "messaging.destination.name": message.topic,
                "messaging.consumer.group.name": group,
                "messaging.destination.partition.id": str(message.partition),
                "messaging.kafka.offset": message.offset,
                **({"messaging.kafka.message.key": message.key} if message.key is not None else {}),
                **_event_attributes(message.headers),
            },
        ) as span:
            yield span

    def current_span_context(self) -> SpanContext | None:
        """The current span's context when tracing is on and it is sampled (what `linked` links to)."""
        if self._tracer is None:
            return None
        context = trace.get_current_span().get_span_context()
        return context if context.is_valid and context.trace_flags.sampled else None

    @contextlib.contextmanager
    def linked(
        self, name: str, contexts: Sequence[SpanContext | None], attributes: Mapping[str, Any]
    ) -> Iterator[Span | None]:
        """The current span of work done for several traced requests at once: the root of a trace of
        its own, linked to each of `contexts` (the sampled ones), sampled as they were; none when
        tracing is off or none of them was sampled. An error raised inside marks it."""
        sampled = [c for c in contexts if c is not None and c.is_valid and c.trace_flags.sampled]
        if self._tracer is None or not sampled:
            yield None
            return
        with self._tracer.start_as_current_span(
            name,
            context=Context(),
            kind=SpanKind.INTERNAL,
            links=[Link(c) for c in {(c.trace_id, c.span_id): c for c in sampled}.values()],
            attributes=dict(attributes),
        ) as span:
            yield span

    async def shutdown(self) -> None:
        """Export what is left and stop (the exporter's network call off the event loop)."""
        if self.provider is not None:
            await asyncio.to_thread(self.provider.shutdown)


def tracing_for(service: str, settings: ServiceSettings) -> Tracing:
    """The service's traces as its settings and the standard OTEL_ variables say (off by default)."""
    env = os.environ
    endpoint = settings.otlp_endpoint
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return Tracing()
    if not (
        endpoint or env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or env.get("OTEL_EXPORTER_OTLP_ENDPOINT")
    ):
        return Tracing()
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import SERVICE_NAME, SERVICE_VERSION, Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    exporter = (
        OTLPSpanExporter(endpoint=f"{endpoint.rstrip('/')}/v1/traces") if endpoint else OTLPSpanExporter()
    )
    resource = Resource.create(
        {SERVICE_NAME: env.get("OTEL_SERVICE_NAME") or service, SERVICE_VERSION: VERSION}
    )
    provider = TracerProvider(resource=resource, sampler=_only_within_work())
    provider.add_span_processor(BatchSpanProcessor(exporter))
    return Tracing(provider)


def _only_within_work() -> Any:
    """The sampler `OTEL_TRACES_SAMPLER` names (parent-based, always on by default), which also drops
    a client span (a statement, a connection) that has no parent: polls are not traces of their own;
    and samples a root span linked to a sampled one (`Tracing.linked`): its requests were traced."""
    from opentelemetry.sdk.trace.sampling import Decision, Sampler, SamplingResult, _get_from_env_or_default

    configured = _get_from_env_or_default()

    class OnlyWithinWork(Sampler):
        def should_sample(
            self,
            parent_context: Context | None,
            trace_id: int,
            name: str,
            kind: SpanKind | None = None,
            attributes: Any = None,
            links: Any = None,
            trace_state: Any = None,
        ) -> SamplingResult:
            parent = trace.get_current_span(parent_context).get_span_context()
            if kind == SpanKind.CLIENT and not parent.is_valid:
                return SamplingResult(Decision.DROP)
            if not parent.is_valid and any(link.context.trace_flags.sampled for link in links or ()):
                return SamplingResult(Decision.RECORD_AND_SAMPLE, attributes)
            return configured.should_sample(
                parent_context, trace_id, name, kind, attributes, links, trace_state
            )

        def get_description(self) -> str:
            return f"OnlyWithinWork{{{configured.get_description()}}}"

    return OnlyWithinWork()
