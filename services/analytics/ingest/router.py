"""Signed LMS webhooks: platform JSON, IMS Caliper, xAPI and Canvas Live Events.

No user token: each request is signed the Standard Webhooks way with the integration's secret.
Answers 200 when every event is valid (new or duplicate), 207 when some were rejected (listed
by index), 422 when none is usable, 401 for a bad or stale signature, 413 above the body cap.
"""

from __future__ import annotations

import time
import uuid
from typing import Any, Literal

import jwt
import orjson
from fastapi import APIRouter, Request, Response

from services.analytics.config import Settings
from services.analytics.ingest import service, signing
from services.analytics.ingest.batcher import IngestBatcher
from services.analytics.ingest.formats import PARSERS
from services.analytics.ingest.schemas import IngestResult
from services.analytics.integrations.service import IntegrationCache
from shared.db import utcnow
from shared.errors import PayloadTooLarge, Unauthorized, Unprocessable, UnsupportedMediaType

router = APIRouter(prefix="/webhooks", tags=["webhooks"])

Format = Literal["events", "caliper", "xapi", "canvas"]


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refused with 413 as soon as it passes `limit` bytes."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"the body is larger than {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"the body is larger than {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";", 1)[0].strip().lower()


def decode_body(fmt: str, media_type: str, body: bytes, secrets: list[str]) -> Any:
    """Parse the JSON body (or, for Canvas, a JWT signed HS256 with the integration's secret key)."""
    if fmt == "canvas" and media_type in ("application/jwt", "text/plain"):
        for secret in secrets:
            try:
                return jwt.decode(
                    body.decode(),
                    signing.secret_key(secret),
                    algorithms=["HS256"],
                    options={"verify_aud": False, "require": []},
                )
            except (jwt.PyJWTError, UnicodeDecodeError, ValueError):
                continue
        raise Unauthorized("the Canvas JWT is not signed with this integration's key")
    if media_type != "application/json" and not (
        media_type.startswith("application/") and media_type.endswith("+json")
    ):
        raise UnsupportedMediaType(
            f"content type {media_type or 'none'!r} is not accepted; send application/json"
        )
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise Unprocessable(f"the body is not valid JSON: {exc}", field="body") from exc


_SIGNATURE_HEADERS = [
    {
        "name": "webhook-id",
        "in": "header",
        "required": True,
        "schema": {"type": "string"},
        "description": "Unique per delivery; a repeat is answered 200 with `replay: true` and no effect.",
    },
    {
        "name": "webhook-timestamp",
        "in": "header",
        "required": True,
        "schema": {"type": "integer"},
        "description": "Unix seconds; refused (401) beyond the tolerance (default 300 s).",
    },
    {
        "name": "webhook-signature",
        "in": "header",
        "required": True,
        "schema": {"type": "string"},
        "description": "`v1,<base64 HMAC-SHA256 of '{id}.{timestamp}.{body}'>`, space-separated list.",
    },
]
_BODY = {
    "required": True,
    "content": {
        "application/json": {
            "schema": {
                "description": "events: a PlatformEvent, an array of them or "
                '{"events": [...]}; caliper: an envelope; xapi: a statement '
                "or an array; canvas: a live event or an array"
            }
        },
        "application/jwt": {
            "schema": {"type": "string", "description": "canvas only: HS256 JWT of a live event"}
        },
    },
}


@router.post(
    "/{integration_id}/{fmt}",
    response_model=IngestResult,
    responses={
        207: {"model": IngestResult, "description": "Some events were rejected"},
        401: {"description": "Bad or stale signature, unknown or disabled integration"},
        413: {"description": "Body over the cap"},
        415: {"description": "Not JSON"},
    },
    openapi_extra={"parameters": _SIGNATURE_HEADERS, "requestBody": _BODY},
)
async def receive_webhook(integration_id: str, fmt: Format, request: Request) -> Response:
    """Ingest a signed delivery of usage events (`fmt`: events, caliper, xapi or canvas)."""
    # The hot path: no dependency injection and no response-model pass, see deps.py for the same lookups.
    state = request.app.state
    settings: Settings = state.runtime.settings
    cache: IntegrationCache = state.integration_cache
    batcher: IngestBatcher = state.ingest_batcher
    body = await read_body(request, settings.webhook_max_body_bytes)
    try:
        key_id = uuid.UUID(integration_id)
    except ValueError as exc:
        raise Unauthorized("unknown or disabled integration") from exc
    integration = await cache.get(state.runtime.db, key_id)
    secrets = integration.secrets(utcnow())
    webhook_id = signing.verify(
        request.headers, body, secrets=secrets, now=time.time(), tolerance_s=settings.webhook_tolerance_s
    )
    doc = decode_body(fmt, _media_type(request), body, secrets)
    items, is_batch = PARSERS[fmt](doc, tool_id=integration.tool_id)
    if len(items) > settings.webhook_max_batch_events:
        raise Unprocessable(f"at most {settings.webhook_max_batch_events} events per delivery", field="body")
    events, rejected = service.split_items(items, is_batch=is_batch)
    delivery = service.Delivery(
        district_id=integration.district_id,
        integration_id=integration.id,
        webhook_id=webhook_id,
        source=fmt,
        events=events,
        rejected=rejected,
    )
    result = await batcher.submit(delivery)
    return Response(
        orjson.dumps(result.model_dump()),
        status_code=207 if result.rejected else 200,
        media_type="application/json",
    )
