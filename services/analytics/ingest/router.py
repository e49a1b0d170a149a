"""Signed LMS webhooks: platform JSON, IMS Caliper, xAPI and Canvas Live Events.

No user token: each request is signed the Standard Webhooks way with the integration's secret.
Answers 200 when every event is valid (new or duplicate), 207 when some were rejected (listed
by index), 422 when none is usable, 401 for a bad or stale signature, 413 above the body cap.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from typing import Any, Literal, get_args

import jwt
import orjson
import structlog
from fastapi import APIRouter, Request, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from services.analytics.config import Settings
from services.analytics.ingest import service, signing
from services.analytics.ingest.batcher import IngestBatcher
from services.analytics.ingest.formats import PARSERS
from services.analytics.ingest.schemas import IngestResult
from services.analytics.integrations.service import IntegrationCache
from shared.asgi import read_limited_body, send_problem, send_response
from shared.db import utcnow
from shared.errors import (
    BadRequest,
    ProblemError,
    Unauthorized,
    Unprocessable,
    UnsupportedMediaType,
)
from shared.observability import RequestContextMiddleware, RouteLabel

log = structlog.get_logger(__name__)
router = APIRouter(prefix="/webhooks", tags=["webhooks"])

Format = Literal["events", "caliper", "xapi", "canvas"]


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
    # Served by WebhookReceiver in front of FastAPI; this route documents it and is the fallback.
    settings: Settings = request.app.state.runtime.settings
    body = await read_limited_body(
        request.receive,
        declared_length=request.headers.get("content-length"),
        limit=settings.webhook_max_body_bytes,
    )
    if body is None:
        raise BadRequest("the client closed the connection before sending the whole body")
    status, content = await ingest(request.app.state, integration_id, fmt, request.headers, body)
    return Response(content, status_code=status, media_type="application/json")


async def ingest(
    state: Any, integration_id: str, fmt: str, headers: Mapping[str, str], body: bytes
) -> tuple[int, bytes]:
    """Verify, parse and apply one delivery; (status, JSON body) once it is committed."""
    settings: Settings = state.runtime.settings
    cache: IntegrationCache = state.integration_cache
    batcher: IngestBatcher = state.ingest_batcher
    try:
        key_id = uuid.UUID(integration_id)
    except ValueError as exc:
        raise Unauthorized("unknown or disabled integration") from exc
    integration = await cache.get(state.runtime.db, key_id)
    secrets = integration.secrets(utcnow())
    webhook_id = signing.verify(
        headers, body, secrets=secrets, now=time.time(), tolerance_s=settings.webhook_tolerance_s
    )
    media_type = headers.get("content-type", "").split(";", 1)[0].strip().lower()
    doc = decode_body(fmt, media_type, body, secrets)
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
    return (207 if result.rejected else 200), orjson.dumps(result.model_dump())


_FORMATS = frozenset(get_args(Format))
_WANTED_HEADERS = frozenset(
    {b"content-type", b"content-length", b"webhook-id", b"webhook-timestamp", b"webhook-signature"}
)


class WebhookReceiver:
    """ASGI: `POST {prefix}/webhooks/{integration_id}/{fmt}` without FastAPI's routing and DI.

    The same answers as the route (200/207, problem+json 401/413/415/422, 500), at a fraction of
    the cost; anything else (other methods, unknown formats, other paths) goes on to `app`. It
    sits outside the whole FastAPI stack, with its own request-context middleware (correlation
    id, metrics, the request log, sampled for successes) around the webhook handling only.
    """

    def __init__(self, app: ASGIApp, *, prefix: str, service: str) -> None:
        self.app = app
        self.base = f"{prefix}{router.prefix}/"
        self.label = RouteLabel(self.route_template(prefix))
        self.handle = RequestContextMiddleware(self._handle, service=service)

    @staticmethod
    def route_template(prefix: str) -> str:
        """The webhook route's path template under `prefix` (its metrics and log label)."""
        return f"{prefix}{router.prefix}/{{integration_id}}/{{fmt}}"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope.get("path", "")
        if scope["type"] != "http" or scope["method"] != "POST" or not path.startswith(self.base):
            await self.app(scope, receive, send)
            return
        integration_id, _, fmt = path[len(self.base) :].partition("/")
        if fmt not in _FORMATS or not integration_id:
            await self.app(scope, receive, send)
            return
        scope["route"] = self.label
        await self.handle(scope, receive, send)

    async def _handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope["path"]
        integration_id, _, fmt = path[len(self.base) :].partition("/")
        state = scope["app"].state
        headers: dict[str, str] = {}
        for key, value in scope["headers"]:
            key = key.lower()
            if key in _WANTED_HEADERS:
                headers.setdefault(key.decode(), value.decode("latin-1"))
        try:
            body = await read_limited_body(
                receive,
                declared_length=headers.get("content-length"),
                limit=state.runtime.settings.webhook_max_body_bytes,
            )
            if body is None:
                return  # the client went away
            status, content = await ingest(state, integration_id, fmt, headers, body)
            await send_response(send, status, content)
        except ProblemError as exc:
            await send_problem(send, exc, instance=path)
        except Exception:
            log.exception("unhandled_error", path=path)
            unexpected = ProblemError(
                "an unexpected error occurred; it has been logged", slug="internal-server-error"
            )
            await send_problem(send, unexpected, instance=path)
