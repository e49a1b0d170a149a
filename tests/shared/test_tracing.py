"""Traces: one trace id links a request in catalog, its outbox relay and pilots' handling of the event
(exported over OTLP to a real receiver on loopback, through the real broker); a request of pilots that
asks the catalog over HTTP is one trace across both; off, nothing is set up."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import orjson
import pytest
import uvicorn
from fastapi import FastAPI
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import create_async_engine

from services.catalog.app import create_app as create_catalog_app
from services.catalog.config import Settings as CatalogSettings
from services.catalog.db import outbox as catalog_outbox
from services.demo import dev_headers
from services.embedded import embedded_platform
from services.pilots.app import create_app as create_pilots_app
from services.pilots.config import Settings as PilotsSettings
from shared.events.topics import CATALOG_TOOLS
from shared.service import ServiceRuntime
from shared.testing import free_port
from tests.analytics.conftest import sign_request
from tests.analytics.dataset import ev
from tests.catalog.helpers import approved_tool, register
from tests.fixtures.auth import TokenFactory
from tests.fixtures.services import AppFactory, running_app
from tests.pilots.conftest import plan
from tests.shared.otlp import ReceivedSpan, otlp_receiver

INTERNAL, SERVER, CLIENT, PRODUCER, CONSUMER = 1, 2, 3, 4, 5
"""OTLP span kinds."""
PILOTS = "/api/pilots/pilots"


def kafka(bootstrap: str, database_url: str, **more: Any) -> dict[str, Any]:
    """Settings of a service with its workers on the real broker, on a database of this module's own."""
    return {
        "database_url": database_url,
        "workers_enabled": True,
        "bus_backend": "kafka",
        "kafka_bootstrap_servers": bootstrap,
        "kafka_enable_idempotence": False,
        "outbox_poll_interval_s": 0.1,
        **more,
    }


async def envelope_of(app: FastAPI, tool_id: str) -> dict[str, Any]:
    """The tool-registered envelope in catalog's outbox row."""
    runtime: ServiceRuntime = app.state.runtime
    async with runtime.db.transaction() as session:
        payloads = (
            await session.scalars(select(catalog_outbox.c.payload).where(catalog_outbox.c.key == tool_id))
        ).all()
    envelopes = [orjson.loads(p) for p in payloads]
    return next(e for e in envelopes if e["type"].endswith("tool.registered.v1"))


async def test_one_trace_from_the_request_through_the_relay_to_the_consumer(
    service_app: AppFactory, own_broker: str, own_database_url: str, auth: TokenFactory
) -> None:
    with otlp_receiver() as receiver:
        settings = kafka(own_broker, own_database_url, otlp_endpoint=receiver.url)
        async with (
            service_app("pilots", **settings) as (_, pilots),
            service_app("catalog", **settings) as (catalog_app, catalog),
        ):
            tool = await register(catalog, auth)
            deadline = time.monotonic() + 90
            while time.monotonic() < deadline:
                copies = (await pilots.get("/api/pilots/tools", headers=auth("edtech"))).json()["items"]
                if any(c["id"] == tool["id"] for c in copies):
                    break
                await asyncio.sleep(0.1)
            else:
                raise AssertionError("pilots never heard of the tool")
            envelope = await envelope_of(catalog_app, tool["id"])
        # Both services have stopped: their providers exported everything on the way out.
        spans = list(receiver.spans)

    request = one(spans, service="catalog", kind=SERVER, name="POST /api/catalog/tools")
    trace_id = request.trace_id
    in_trace = [s for s in spans if s.trace_id == trace_id]
    by_id = {s.span_id: s for s in in_trace}

    # The request's statements are its descendants, in catalog: the tool and its outbox row inserted.
    inserts = [s for s in in_trace if s.service == "catalog" and s.name.startswith("INSERT")]
    assert inserts and all(descends(s, request, by_id) for s in inserts), [s.name for s in in_trace]

    # The outbox row carries the request's context (the CloudEvents distributed-tracing extension).
    assert envelope["traceparent"].split("-")[1] == trace_id
    written_in = by_id[envelope["traceparent"].split("-")[2]]
    assert written_in.service == "catalog" and descends(written_in, request, by_id)

    # The relay's send is a child of that context, in catalog.
    send = one(in_trace, service="catalog", kind=PRODUCER, name=f"send {CATALOG_TOOLS}")
    assert send.parent_id == written_in.span_id
    assert send.attributes["messaging.system"] == "kafka"
    assert send.attributes["messaging.destination.name"] == CATALOG_TOOLS
    assert send.attributes["messaging.kafka.message.key"] == tool["id"]
    assert send.attributes["cloudevents.event_id"] == envelope["id"]

    # Pilots' handling is a child of the send (the record's traceparent header), in pilots.
    process = one(in_trace, service="pilots", kind=CONSUMER, name=f"process {CATALOG_TOOLS}")
    assert process.parent_id == send.span_id
    assert process.attributes["messaging.consumer.group.name"] == "pilots"
    assert process.attributes["cloudevents.event_id"] == envelope["id"]
    # ... and the handler's statements are its children: the tool copy written in pilots' schema.
    statements = [s for s in in_trace if s.service == "pilots" and s.parent_id == process.span_id]
    assert any("pilots" in str(s.attributes.get("db.statement", "")) for s in statements), statements
    assert any(s.name.startswith("INSERT") for s in statements), [s.name for s in statements]

    # Database statements run by the services' polls (relay, jobs) are no traces of their own.
    roots = [s for s in spans if not s.parent_id]
    assert roots and all(s.kind != 3 for s in roots), {s.name for s in roots if s.kind == 3}


@contextlib.asynccontextmanager
async def served_over_http(app: FastAPI) -> AsyncIterator[str]:
    """`app` (its lifespan already running) also served by uvicorn on a free loopback port."""
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, lifespan="off", log_config=None))
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"
    finally:
        server.should_exit = True
        await task


@pytest.mark.parametrize("reach", ["over HTTP", "in process"])
async def test_a_request_that_asks_another_service_is_one_trace_across_both(
    reach: str, database_url: str, auth_settings: dict[str, Any], auth: TokenFactory
) -> None:
    """Pilots asks the catalog whether a tool it does not know yet may be piloted: over HTTP with the
    client `peer` builds from `catalog_url` (the distributed mode), or in process with the client it
    is given (the embedded default's)."""
    with otlp_receiver() as receiver:
        common = {
            "database_url": database_url,
            "environment": "test",
            "workers_enabled": False,
            "bus_backend": "memory",
            "otlp_endpoint": receiver.url,
            **auth_settings,
        }
        catalog_app = create_catalog_app(CatalogSettings(**common))
        async with contextlib.AsyncExitStack() as stack:
            catalog = await stack.enter_async_context(running_app(catalog_app))
            tool = await approved_tool(catalog, auth, name="Desmos")
            if reach == "over HTTP":
                url = await stack.enter_async_context(served_over_http(catalog_app))
                pilots_app = create_pilots_app(PilotsSettings(**common, catalog_url=url))
            else:
                given = httpx.AsyncClient(
                    transport=httpx.ASGITransport(app=catalog_app), base_url="http://catalog"
                )
                await stack.enter_async_context(given)
                pilots_app = create_pilots_app(PilotsSettings(**common), catalog_http=given)
            pilots = await stack.enter_async_context(running_app(pilots_app))
            r = await pilots.post(PILOTS, json=plan(uuid.UUID(tool["id"])), headers=auth("edtech"))
            assert r.status_code == 201, r.text
        spans = list(receiver.spans)

    request = one(spans, service="pilots", kind=SERVER, name=f"POST {PILOTS}")
    in_trace = [s for s in spans if s.trace_id == request.trace_id]
    by_id = {s.span_id: s for s in in_trace}
    # Pilots' call is a CLIENT span below its request ...
    call = one(in_trace, service="pilots", kind=CLIENT, name="GET")
    assert descends(call, request, by_id)
    status = call.attributes.get("http.response.status_code", call.attributes.get("http.status_code"))
    assert status == 200, call.attributes
    # ... whose context the request carried: the catalog's request span is its child, in the same trace
    # (a SERVER span over HTTP; in process, where the call's span is still current, INTERNAL),
    served = one(in_trace, service="catalog", name="GET /api/catalog/tools/{tool_id}")
    assert served.kind == (SERVER if reach == "over HTTP" else INTERNAL) and served.parent_id == call.span_id
    # with the catalog's own statements below it.
    reads = [s for s in in_trace if s.service == "catalog" and s.name.startswith("SELECT")]
    assert reads and all(descends(s, served, by_id) for s in reads), [s.name for s in in_trace]
    # Pilots' own statements are in the trace too (the tool's copy written after the catalog answered).
    assert any(s.service == "pilots" and s.name.startswith("INSERT") for s in in_trace)


async def test_through_the_embedded_gateway_the_callers_trace_reaches_pilots_and_the_catalog(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The embedded default: the gateway's proxy forwards the caller's `traceparent` to pilots (in
    process), and pilots' in-process call to the catalog carries the trace on."""
    caller_trace, caller_span = uuid.uuid4().hex, uuid.uuid4().hex[:16]
    with otlp_receiver() as receiver:
        for service in ("CATALOG", "PILOTS", "ANALYTICS"):
            monkeypatch.setenv(f"{service}_OTLP_ENDPOINT", receiver.url)
        async with embedded_platform(data_dir=str(tmp_path), port=free_port()) as platform:
            transport = httpx.ASGITransport(app=platform.gateway)
            async with httpx.AsyncClient(transport=transport, base_url=platform.base_url) as gateway:
                headers = await dev_headers(gateway, "traced-district", "edtech")
                tool = await approved_tool(gateway, lambda *_, **__: headers, name="Kami")
                traced = {**headers, "traceparent": f"00-{caller_trace}-{caller_span}-01"}
                r = await gateway.post(PILOTS, json=plan(uuid.UUID(tool["id"])), headers=traced)
                assert r.status_code == 201, r.text
        spans = list(receiver.spans)

    request = one(spans, service="pilots", kind=SERVER, name=f"POST {PILOTS}")
    assert (request.trace_id, request.parent_id) == (caller_trace, caller_span)
    in_trace = [s for s in spans if s.trace_id == caller_trace]
    call = one(in_trace, service="pilots", kind=CLIENT, name="GET")
    served = one(in_trace, service="catalog", name="GET /api/catalog/tools/{tool_id}")
    assert served.parent_id == call.span_id
    assert {s.service for s in in_trace} == {"pilots", "catalog"}


def one(spans: list[ReceivedSpan], **match: Any) -> ReceivedSpan:
    """The one span matching every field given."""
    found = [s for s in spans if all(getattr(s, k) == v for k, v in match.items())]
    assert len(found) == 1, (match, [(s.service, s.name, s.kind) for s in spans])
    return found[0]


def descends(span: ReceivedSpan, ancestor: ReceivedSpan, by_id: dict[str, ReceivedSpan]) -> bool:
    """Whether `span` is `ancestor` or below it."""
    while True:
        if span.span_id == ancestor.span_id:
            return True
        parent = by_id.get(span.parent_id)
        if parent is None:
            return False
        span = parent


async def test_off_by_default_nothing_is_set_up(
    service_app: AppFactory, auth: TokenFactory, monkeypatch: Any
) -> None:
    for name in ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)
    async with service_app("catalog", analytics_url="http://127.0.0.1:9") as (app, catalog):
        runtime: ServiceRuntime = app.state.runtime
        assert not runtime.tracing.enabled and runtime.tracing.provider is None
        assert not getattr(app, "_is_instrumented_by_opentelemetry", False)
        assert not getattr(app.state.analytics_http, "_is_instrumented_by_opentelemetry", False)
        assert runtime.relay.tracing.enabled is False and runtime.consumer.tracing.enabled is False
        tool = await register(catalog, auth)
        envelope = await envelope_of(app, tool["id"])
    assert "traceparent" not in envelope and "tracestate" not in envelope


async def test_the_webhooks_served_in_front_of_fastapi_are_traced(
    service_app: AppFactory, auth: TokenFactory
) -> None:
    with otlp_receiver() as receiver:
        async with service_app("analytics", otlp_endpoint=receiver.url) as (_, analytics):
            r = await analytics.post(
                "/api/analytics/integrations",
                headers=auth("edtech"),
                json={"name": "LMS", "tool_id": str(uuid.uuid4())},
            )
            assert r.status_code == 201, r.text
            integration = r.json()
            for day in ("2026-03-02", "2026-03-03"):
                body = orjson.dumps([ev("s1", "login", day)])
                r = await analytics.post(
                    f"/api/analytics/webhooks/{integration['id']}/events",
                    content=body,
                    headers={**sign_request(integration["secret"], body), "content-type": "application/json"},
                )
                assert r.status_code == 200, r.text
        spans = list(receiver.spans)
    route = "/api/analytics/webhooks/{integration_id}/{fmt}"
    webhooks = [s for s in spans if s.kind == SERVER and s.name == f"POST {route}"]
    assert len(webhooks) == 2 and webhooks[0].trace_id != webhooks[1].trace_id
    assert all(w.attributes["http.route"] == route for w in webhooks)
    # The routes FastAPI serves are traced by its own instrumentation, in the same app.
    one(spans, service="analytics", kind=SERVER, name="POST /api/analytics/integrations")
    below = [[s.name for s in spans if s.parent_id == webhook.span_id] for webhook in webhooks]
    # Each request's own statements: one looks its integration up (the other finds it
    # cached). The batched write of many deliveries in one transaction belongs to no one request,
    # nor to the first, which happened to start the flush workers: it is a span of its own (below).
    assert any("SELECT" in names for names in below), below
    assert all(name in ("SELECT", "SET") for names in below for name in names), below


WEBHOOK = "POST /api/analytics/webhooks/{integration_id}/{fmt}"


async def new_integration(analytics: httpx.AsyncClient, auth: TokenFactory) -> dict[str, Any]:
    """An LMS integration of the district: its id and signing secret."""
    r = await analytics.post(
        "/api/analytics/integrations",
        headers=auth("edtech"),
        json={"name": "LMS", "tool_id": str(uuid.uuid4())},
    )
    assert r.status_code == 201, r.text
    return dict(r.json())


async def deliver(
    analytics: httpx.AsyncClient, integration: dict[str, Any], user: str, **headers: str
) -> httpx.Response:
    """A signed delivery of one login event of `user`."""
    body = orjson.dumps([ev(user, "login", "2026-03-02")])
    signed = sign_request(integration["secret"], body)
    return await analytics.post(
        f"/api/analytics/webhooks/{integration['id']}/events",
        content=body,
        headers={**signed, "content-type": "application/json", **headers},
    )


async def test_the_batched_write_is_a_span_linked_to_the_requests_it_wrote_for(
    service_app: AppFactory, auth: TokenFactory, database_url: str
) -> None:
    """One flush worker; the first delivery's write waits on a lock of the deliveries' table while
    three more are queued, so they are written together by the next flush."""
    first_trace, first_parent = uuid.uuid4().hex, uuid.uuid4().hex[:16]
    engine = create_async_engine(database_url)
    try:
        with otlp_receiver() as receiver:
            settings = {"otlp_endpoint": receiver.url, "ingest_flush_workers": 1}
            async with service_app("analytics", **settings) as (app, analytics):
                integration = await new_integration(analytics, auth)
                async with engine.begin() as lock:
                    await lock.execute(text("LOCK TABLE analytics.webhook_delivery IN EXCLUSIVE MODE"))
                    first = asyncio.create_task(
                        deliver(
                            analytics, integration, "s1", traceparent=f"00-{first_trace}-{first_parent}-01"
                        )
                    )
                    waiting = text(
                        "SELECT count(*) FROM pg_locks WHERE NOT granted"
                        " AND relation = 'analytics.webhook_delivery'::regclass"
                    )
                    await until(lambda: first.done() or _scalar_is(lock, waiting, 1), "the first write waits")
                    assert not first.done()
                    rest = [asyncio.create_task(deliver(analytics, integration, f"s{n}")) for n in (2, 3, 4)]
                    queue = app.state.ingest_batcher._queue  # the deliveries handed over, not yet taken
                    await until(lambda: _true(queue.qsize() == 3), "three deliveries are queued")
                for response in await asyncio.gather(first, *rest):
                    assert response.status_code == 200, response.text
            spans = list(receiver.spans)
    finally:
        await engine.dispose()

    webhooks = [s for s in spans if s.kind == SERVER and s.name == WEBHOOK]
    assert len(webhooks) == 4
    (first_request,) = [w for w in webhooks if w.trace_id == first_trace]
    others = {(w.trace_id, w.span_id) for w in webhooks if w is not first_request}
    flushes = {len(f.links): f for f in spans if f.name == "ingest.flush"}
    assert sorted(flushes) == [1, 3], [f.links for f in spans if f.name == "ingest.flush"]
    # Each flush is linked to the requests whose deliveries it wrote ...
    assert flushes[1].links == ((first_trace, first_request.span_id),)
    assert set(flushes[3].links) == others
    assert flushes[1].attributes == {"analytics.ingest.deliveries": 1, "analytics.ingest.events": 1}
    assert flushes[3].attributes == {"analytics.ingest.deliveries": 3, "analytics.ingest.events": 3}
    # ... and is the root of a trace of its own, belonging to none of them,
    request_traces = {w.trace_id for w in webhooks}
    for flush in flushes.values():
        assert flush.kind == INTERNAL and not flush.parent_id and flush.trace_id not in request_traces
        # with the write's statements below it: the deliveries claimed and their events appended.
        statements = [s for s in spans if s.parent_id == flush.span_id]
        written = " ".join(str(s.attributes.get("db.statement", "")) for s in statements)
        assert "webhook_delivery" in written and "usage_event" in written, [s.name for s in statements]
    # The requests' own spans hold no write.
    assert not [s for s in spans if s.parent_id in {w.span_id for w in webhooks} and s.name != "SELECT"]


async def test_the_batched_write_is_sampled_when_one_of_its_requests_was(
    service_app: AppFactory, auth: TokenFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A sampler that keeps no new trace (ratio 0): only the delivery whose caller sampled its trace is
    traced, and so is the write of it, a root span the ratio alone would have dropped."""
    monkeypatch.setenv("OTEL_TRACES_SAMPLER", "parentbased_traceidratio")
    monkeypatch.setenv("OTEL_TRACES_SAMPLER_ARG", "0")
    caller_trace, caller_span = uuid.uuid4().hex, uuid.uuid4().hex[:16]
    with otlp_receiver() as receiver:
        async with service_app("analytics", otlp_endpoint=receiver.url) as (_, analytics):
            integration = await new_integration(analytics, auth)
            traced = await deliver(
                analytics, integration, "s1", traceparent=f"00-{caller_trace}-{caller_span}-01"
            )
            untraced = await deliver(analytics, integration, "s2")
            assert traced.status_code == untraced.status_code == 200
        spans = list(receiver.spans)
    request = one(spans, kind=SERVER, name=WEBHOOK)
    assert (request.trace_id, request.parent_id) == (caller_trace, caller_span)
    flush = one(spans, name="ingest.flush")
    assert flush.links == ((caller_trace, request.span_id),)
    assert [s for s in spans if s.parent_id == flush.span_id]  # its statements too
    assert {s.trace_id for s in spans} == {caller_trace, flush.trace_id}


async def until(ready: Any, what: str, timeout_s: float = 20) -> None:
    """Wait until the coroutine function `ready` answers true."""
    deadline = time.monotonic() + timeout_s
    while not await ready():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting until {what}")
        await asyncio.sleep(0.02)


async def _true(value: bool) -> bool:
    return value


async def _scalar_is(connection: Any, query: Any, expected: int) -> bool:
    return bool(await connection.scalar(query) == expected)
