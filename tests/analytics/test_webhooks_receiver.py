"""The lean webhook handler in front of FastAPI: same edges, correlation ids, metrics and logs."""

from __future__ import annotations

import asyncio
import logging
import uuid
from typing import Any

import httpx
import orjson
import pytest
from fastapi import FastAPI
from prometheus_client import REGISTRY

from services.analytics.app import PREFIX
from services.analytics.ingest.router import WebhookReceiver
from services.analytics.integrations.repository import IntegrationRepository
from services.analytics.integrations.service import IntegrationCache
from tests.analytics.conftest import Poster, sign_request

ROUTE = WebhookReceiver.route_template(PREFIX)


def event(**overrides: Any) -> dict[str, Any]:
    """A valid platform event."""
    return {
        "event_id": f"ev-{uuid.uuid4().hex}",
        "type": "login",
        "occurred_at": "2026-03-02T08:00:00Z",
        "user_id": "s1",
        **overrides,
    }


def requests_counted(status: str) -> float:
    """The http_requests_total sample of the webhook route with `status`."""
    value = REGISTRY.get_sample_value(
        "http_requests_total", {"service": "analytics", "method": "POST", "route": ROUTE, "status": status}
    )
    return value or 0.0


def request_logs(caplog: pytest.LogCaptureFixture, integration_id: str) -> list[dict[str, Any]]:
    """The `request` log lines of this integration's webhook path."""
    lines = []
    for record in caplog.records:
        msg = record.msg
        if isinstance(msg, dict) and msg.get("event") == "request" and integration_id in str(msg.get("path")):
            lines.append(msg)
    return lines


async def test_webhook_echoes_the_correlation_id_and_counts_under_the_route_template(
    analytics_app: tuple[FastAPI, httpx.AsyncClient],
    analytics: httpx.AsyncClient,
    integration: dict[str, Any],
) -> None:
    before = requests_counted("200")
    body = orjson.dumps(event())
    r = await analytics.post(
        f"/api/analytics/webhooks/{integration['id']}/events",
        content=body,
        headers={
            **sign_request(integration["secret"], body),
            "content-type": "application/json",
            "X-Correlation-ID": "corr-webhook-1",
        },
    )
    assert r.status_code == 200, r.text
    assert r.headers["x-correlation-id"] == "corr-webhook-1"
    assert r.headers["content-type"] == "application/json"
    assert requests_counted("200") == before + 1
    assert isinstance(analytics_app[0].middleware_stack, WebhookReceiver)  # served in front of FastAPI


async def test_errors_are_problem_json_with_the_bearer_challenge_on_401(
    post_signed: Poster, integration: dict[str, Any]
) -> None:
    wrong = "whsec_" + "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo="
    r = await post_signed("events", event(), secret=wrong)
    assert r.status_code == 401
    assert r.headers["content-type"] == "application/problem+json"
    assert r.headers["www-authenticate"] == "Bearer"
    doc = r.json()
    assert doc["status"] == 401
    assert doc["instance"] == f"/api/analytics/webhooks/{integration['id']}/events"
    assert "x-correlation-id" in r.headers
    r = await post_signed("events", [event(), {"event_id": "x"}])
    assert r.status_code == 207
    assert r.json()["rejected"][0]["index"] == 1


async def test_other_methods_formats_and_paths_are_answered_by_fastapi(
    analytics: httpx.AsyncClient, integration: dict[str, Any]
) -> None:
    base = f"/api/analytics/webhooks/{integration['id']}"
    r = await analytics.get(f"{base}/events")
    assert r.status_code == 405
    assert r.headers["content-type"] == "application/problem+json"
    body = orjson.dumps(event())
    signed = {**sign_request(integration["secret"], body), "content-type": "application/json"}
    r = await analytics.post(f"{base}/csv", content=body, headers=signed)
    assert r.status_code == 422
    assert r.headers["content-type"] == "application/problem+json"
    assert "fmt" in r.text
    r = await analytics.post(f"{base}/events/extra", content=body, headers=signed)
    assert r.status_code == 404


async def test_successes_are_logged_one_in_n_and_errors_always(
    post_signed: Poster, integration: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    for _ in range(5):
        assert (await post_signed("events", event())).status_code == 200
    wrong = "whsec_" + "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo="
    for _ in range(2):
        assert (await post_signed("events", event(), secret=wrong)).status_code == 401
    lines = request_logs(caplog, integration["id"])
    errors = [line for line in lines if line["status"] == 401]
    successes = [line for line in lines if line["status"] == 200]
    assert len(errors) == 2
    assert all("sampled" not in line for line in errors)
    assert len(successes) <= 1
    assert all(line["sampled"] == 100 for line in successes)


async def test_an_unexpected_failure_is_a_logged_500_problem(
    post_signed: Poster,
    analytics_app: tuple[FastAPI, httpx.AsyncClient],
    integration: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)

    async def broken(*_: Any, **__: Any) -> None:
        raise RuntimeError("the flush exploded")

    monkeypatch.setattr(analytics_app[0].state.ingest_batcher, "submit", broken)
    r = await post_signed("events", event())
    assert r.status_code == 500
    assert r.headers["content-type"] == "application/problem+json"
    assert "exploded" not in r.text
    assert any(
        isinstance(rec.msg, dict) and rec.msg.get("event") == "unhandled_error" for rec in caplog.records
    )
    assert [line["status"] for line in request_logs(caplog, integration["id"])] == [500]


async def test_concurrent_requests_share_one_integration_lookup(
    analytics_app: tuple[FastAPI, httpx.AsyncClient],
    integration: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[uuid.UUID] = []
    real_by_id = IntegrationRepository.by_id

    async def counting_by_id(self: IntegrationRepository, integration_id: uuid.UUID) -> Any:
        calls.append(integration_id)
        return await real_by_id(self, integration_id)

    monkeypatch.setattr(IntegrationRepository, "by_id", counting_by_id)
    cache = IntegrationCache(ttl_s=60)
    db = analytics_app[0].state.runtime.db
    key_id = uuid.UUID(integration["id"])
    keys = await asyncio.gather(*(cache.get(db, key_id) for _ in range(20)))
    assert calls == [key_id]
    assert {k.id for k in keys} == {key_id}
    assert {k.district_id for k in keys} == {keys[0].district_id}
