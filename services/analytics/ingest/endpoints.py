"""What each standard's endpoint does with a request, whichever way it came in.

The ASGI fast path and the documenting FastAPI routes (`router.py`) both build an `Inbound` and
call `handle`: authenticate (a Standard Webhooks signature, or the standard's own credential), read
the body as the standard says, parse, and submit the events to the batcher; the answer is sent
once they are committed. Every problem becomes problem+json with the headers it needs.
"""

from __future__ import annotations

import base64
import binascii
import json
import time
import urllib.parse
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import jwt
import orjson
from prometheus_client import Counter

from services.analytics.config import Settings
from services.analytics.ingest import service, signing, xapi
from services.analytics.ingest.batcher import IngestBatcher
from services.analytics.ingest.formats import CALIPER_VERSIONS, PARSERS, Item
from services.analytics.ingest.schemas import IngestResult, Normalized
from services.analytics.integrations.service import IntegrationCache, IntegrationKey
from services.analytics.tools.service import ToolDistricts
from shared.db import utcnow
from shared.errors import (
    PROBLEM_JSON,
    BadRequest,
    ProblemError,
    Unauthorized,
    Unprocessable,
    UnsupportedMediaType,
)
from shared.ownership import unknown_here
from shared.validation import first_bad_parameter

Format = Literal["events", "caliper", "xapi", "canvas"]
_SIGNED = ("webhook-id", "webhook-timestamp", "webhook-signature")

INGESTED = Counter(
    "analytics_events_ingested_total",
    "Usage events the webhooks received, by format (platform, xapi, caliper, canvas) and outcome "
    "(accepted: new; duplicate: an event id already stored; replayed: in a delivery already applied; "
    "rejected: malformed or refused)",
    ["format", "outcome"],
)
_FORMAT_LABELS = {"events": "platform", "caliper": "caliper", "xapi": "xapi", "canvas": "canvas"}


def _count(fmt: str, outcome: str, events: int) -> None:
    if events:
        INGESTED.labels(_FORMAT_LABELS.get(fmt, fmt), outcome).inc(events)


@dataclass(slots=True)
class Inbound:
    """One request to the webhooks, whichever way it came in (ASGI fast path or FastAPI route)."""

    method: str
    integration_id: str
    fmt: str
    rest: str
    """The path after the format: `statements`, `about`, a Canvas URL token, or ''."""
    query: str
    headers: Mapping[str, str]
    body: bytes
    path: str


@dataclass(slots=True)
class Answer:
    """A complete response."""

    status: int
    content: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    media_type: str = "application/json"


def _media_type(headers: Mapping[str, str]) -> str:
    return headers.get("content-type", "").split(";", 1)[0].strip().lower()


def _json(media_type: str, body: bytes) -> Any:
    if media_type != "application/json" and not (
        media_type.startswith("application/") and media_type.endswith("+json")
    ):
        raise UnsupportedMediaType(
            f"content type {media_type or 'none'!r} is not accepted; send application/json"
        )
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        try:  # orjson refuses a number past a double (`1e400`): its event is refused by index instead
            return json.loads(body)
        except ValueError:
            raise Unprocessable(f"the body is not valid JSON: {exc}", field="body") from exc


async def _canvas_body(state: Any, media_type: str, body: bytes, secrets: list[str]) -> Any:
    """A Canvas delivery: JSON, or a JWT signed RS256 by Instructure or HS256 with the secret."""
    if media_type not in ("application/jwt", "text/plain"):
        return _json(media_type, body)
    try:
        token = body.decode().strip()
        header = jwt.get_unverified_header(token)
    except (jwt.PyJWTError, UnicodeDecodeError) as exc:
        raise Unauthorized("the Canvas delivery is not a JWT") from exc
    if header.get("alg") == "RS256":
        claims: Any = await state.canvas_keys.decode(token)
        return claims
    for secret in secrets:
        try:
            return jwt.decode(
                token,
                signing.secret_key(secret),
                algorithms=["HS256"],
                options={"verify_aud": False, "require": []},
            )
        except (jwt.PyJWTError, ValueError):
            continue
    raise Unauthorized(
        "the Canvas JWT is signed neither by Instructure (RS256) nor with this integration's key"
    )


def _basic(headers: Mapping[str, str]) -> tuple[str, str] | None:
    scheme, _, value = headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        user, _, password = base64.b64decode(value.strip(), validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return user, password


def _bearer(headers: Mapping[str, str]) -> str | None:
    scheme, _, value = headers.get("authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def authenticate(
    req: Inbound, integration: IntegrationKey, secrets: list[str], *, now: float, tolerance_s: int
) -> str:
    """Who may post here: a Standard Webhooks signature, or the standard's own credential.

    Returns the delivery id: the signed `webhook-id` (a replay changes nothing), or a fresh one
    for senders that cannot sign (their retries are recognised by event id).
    """
    if any(h in req.headers for h in _SIGNED):
        return signing.verify(req.headers, req.body, secrets=secrets, now=now, tolerance_s=tolerance_s)
    fresh = f"unsigned_{uuid.uuid4().hex}"
    if req.fmt == "xapi":
        basic = _basic(req.headers)
        if basic is None:
            raise Unauthorized(
                "send Basic auth: the integration id and its xAPI key", scheme='Basic realm="xAPI"'
            )
        user, password = basic
        if user.strip().lower() == str(integration.id) and signing.credential_matches(
            password, secrets=secrets, purpose="xapi"
        ):
            return fresh
        raise Unauthorized("the xAPI key or secret is not this integration's", scheme='Basic realm="xAPI"')
    if req.fmt == "caliper":
        token = _bearer(req.headers)
        if token is not None and signing.credential_matches(token, secrets=secrets, purpose="caliper"):
            return fresh
        raise Unauthorized("send Authorization: Bearer with this integration's Caliper token")
    if req.fmt == "canvas" and req.rest:
        if signing.credential_matches(req.rest, secrets=secrets, purpose="canvas"):
            return fresh
        raise Unauthorized("the token in the delivery URL is not this integration's")
    raise Unauthorized("webhook-id, webhook-timestamp and webhook-signature headers are required")


_ROUTES = {
    ("POST", "events", ""),
    ("POST", "caliper", ""),
    ("GET", "caliper", ""),
    ("POST", "xapi", ""),
    ("POST", "xapi", "statements"),
    ("PUT", "xapi", "statements"),
    ("GET", "xapi", "about"),
    ("POST", "canvas", ""),
}


async def handle(state: Any, req: Inbound) -> Answer:
    """Answer one webhook request; problems become problem+json with the headers they need."""
    headers: dict[str, str] = {}
    try:
        _refuse_bad_parameters(req)
        if req.fmt == "xapi" and req.rest in ("statements", "about"):
            # xAPI: every answer names the version; about is answered whatever the version asked
            asked = req.headers.get("x-experience-api-version")
            if req.rest == "about" and not xapi.supported(asked):
                asked = xapi.VERSIONS[0]
            headers[xapi.VERSION_HEADER] = xapi.negotiate(asked)
        answer = await _dispatch(state, req)
    except ProblemError as exc:
        answer = problem_answer(exc, req.path)
    answer.headers.update(headers)
    return answer


def _refuse_bad_parameters(req: Inbound) -> None:
    """The rule every app's `refuse_bad_input` applies to path and query parameters: 400 for the
    standards that say so (xAPI, Caliper), 422 otherwise."""
    path = [("integration_id", req.integration_id), ("token", req.rest if req.fmt == "canvas" else "")]
    bad = first_bad_parameter([*path, *urllib.parse.parse_qsl(req.query, keep_blank_values=True)])
    if bad is not None:
        refuse = BadRequest if req.fmt in ("xapi", "caliper") else Unprocessable
        raise refuse(bad[1], field=bad[0])


def problem_answer(error: ProblemError, instance: str) -> Answer:
    """`error` as a problem+json answer, with the headers it requires."""
    return Answer(error.status, orjson.dumps(error.to_problem(instance)), error.headers() or {}, PROBLEM_JSON)


async def _dispatch(state: Any, req: Inbound) -> Answer:
    route = (req.method, req.fmt, "" if req.fmt == "canvas" else req.rest)
    if route not in _ROUTES:
        allowed = sorted(m for m, f, r in _ROUTES if (f, r) == route[1:])
        if allowed:
            raise ProblemError(
                f"{req.method} is not supported here; use {', '.join(allowed)}",
                status=405,
                slug="method-not-allowed",
            )
        raise ProblemError("no such webhook endpoint", status=404, slug="not-found")
    if route == ("GET", "xapi", "about"):
        return Answer(200, xapi.about(req.headers.get("x-experience-api-version")))
    settings: Settings = state.runtime.settings
    cache: IntegrationCache = state.integration_cache
    try:
        key_id = uuid.UUID(req.integration_id)
    except ValueError as exc:
        raise Unauthorized("unknown or disabled integration") from exc
    integration = await cache.get(state.runtime.db, key_id)
    secrets = integration.secrets(utcnow())
    webhook_id = authenticate(
        req, integration, secrets, now=time.time(), tolerance_s=settings.webhook_tolerance_s
    )
    if route == ("GET", "caliper", ""):
        return Answer(200, _caliper_configuration(settings))
    media_type = _media_type(req.headers)
    if req.fmt == "canvas":
        doc = await _canvas_body(state, media_type, req.body, secrets)
    elif route[2] == "statements" and media_type == "multipart/mixed":
        doc = xapi.multipart_statements(req.headers.get("content-type", ""), req.body)
    else:
        doc = _json(media_type, req.body)
    if route[2] == "statements":
        return await _statements(state, integration, webhook_id, req, doc)
    if req.fmt == "caliper":
        _caliper_envelope(doc)
    items, is_batch = PARSERS[req.fmt](doc, tool_id=integration.tool_id, vocabulary=integration.vocabulary)
    if len(items) > settings.webhook_max_batch_events:
        raise Unprocessable(f"at most {settings.webhook_max_batch_events} events per delivery", field="body")
    if integration.tool_id is None:
        items = await _refuse_foreign_tools(state, integration, items)
    try:
        events, rejected = service.split_items(items, is_batch=is_batch)
    except ProblemError:
        _count(req.fmt, "rejected", len(items))
        raise
    result = await _submit(state, integration, webhook_id, req.fmt, events, rejected)
    return Answer(207 if result.rejected else 200, orjson.dumps(result.model_dump()))


async def _refuse_foreign_tools(state: Any, integration: IntegrationKey, items: list[Item]) -> list[Item]:
    """Events of an unbound integration name their tool: one of another district is rejected
    (`shared.ownership`), the way a malformed event is."""
    named = {item.tool_id for item in items if isinstance(item, Normalized) and item.tool_id}
    if not named:
        return items
    tools: ToolDistricts = state.tool_districts
    foreign = await tools.foreign(state.runtime.db, district_id=integration.district_id, tool_ids=named)
    return [
        [{"field": "tool_id", "message": unknown_here("tool", item.tool_id)}]
        if isinstance(item, Normalized) and item.tool_id in foreign
        else item
        for item in items
    ]


async def _submit(
    state: Any,
    integration: IntegrationKey,
    webhook_id: str,
    source: str,
    events: list[Any],
    rejected: list[Any],
) -> IngestResult:
    batcher: IngestBatcher = state.ingest_batcher
    delivery = service.Delivery(
        district_id=integration.district_id,
        integration_id=integration.id,
        webhook_id=webhook_id,
        source=source,
        events=events,
        rejected=rejected,
    )
    result = await batcher.submit(delivery)
    if result.replay:
        _count(source, "replayed", len(events))
    else:
        _count(source, "accepted", result.accepted)
        _count(source, "duplicate", result.duplicates)
        _count(source, "rejected", len(rejected))
    return result


def _caliper_envelope(doc: Any) -> None:
    """The Caliper rules of an envelope: 400 when malformed, 422 for a dataVersion we cannot read."""
    if not isinstance(doc, dict) or not all(k in doc for k in ("sensor", "sendTime", "dataVersion", "data")):
        missing = [
            k
            for k in ("sensor", "sendTime", "dataVersion", "data")
            if not isinstance(doc, dict) or k not in doc
        ]
        raise BadRequest(
            "not a Caliper envelope: it needs " + ", ".join(f"`{k}`" for k in missing), field=missing[0]
        )
    if not isinstance(doc["data"], list):
        raise BadRequest("Caliper `data` must be an array", field="data")
    if doc["dataVersion"] not in CALIPER_VERSIONS:
        raise Unprocessable(
            f"unsupported Caliper dataVersion {doc['dataVersion']!r}; accepted: "
            + ", ".join(sorted(CALIPER_VERSIONS)),
            field="dataVersion",
        )


def _caliper_configuration(settings: Settings) -> bytes:
    """The endpoint configuration a Caliper 1.2 sensor may GET (spec section 6.2)."""
    return orjson.dumps(
        {
            "caliperMaximumPayloadSize": settings.webhook_max_body_bytes // 1024,
            "caliperSupportedVersions": sorted(CALIPER_VERSIONS),
            "caliperSupportedExtensions": {"endpointName": "edtech-platform analytics"},
        }
    )


async def _statements(
    state: Any, integration: IntegrationKey, webhook_id: str, req: Inbound, doc: Any
) -> Answer:
    """xAPI statements: all valid or none stored (400 naming the first bad one); ids answered."""
    if req.method == "PUT":
        query = urllib.parse.parse_qs(req.query)
        statements = [xapi.put_statement(doc, query.get("statementId", [""])[0])]
    else:
        statements = xapi.statements_of(doc)
        statements = [
            {**st, "id": xapi.statement_id(st["id"], where=f"[{i}].id")}
            if isinstance(st, dict) and "id" in st
            else st
            for i, st in enumerate(statements)
        ]
    settings: Settings = state.runtime.settings
    if len(statements) > settings.webhook_max_batch_events:
        raise BadRequest(f"at most {settings.webhook_max_batch_events} statements per request", field="body")
    items, _ = PARSERS["xapi"](statements, tool_id=integration.tool_id, vocabulary=integration.vocabulary)
    errors = [
        {"field": f"[{i}].{e['field']}" if len(statements) > 1 else e["field"], "message": e["message"]}
        for i, item in enumerate(items)
        if isinstance(item, list)
        for e in item
    ]
    if errors:
        _count("xapi", "rejected", len(statements))
        raise BadRequest(
            f"statement {errors[0]['field']}: {errors[0]['message']} (nothing of this request was stored)",
            errors=errors,
        )
    events = [item for item in items if not isinstance(item, list)]
    await _submit(state, integration, webhook_id, "xapi", events, [])
    if req.method == "PUT":
        return Answer(204)
    return Answer(200, orjson.dumps([e.event_id for e in events]))
