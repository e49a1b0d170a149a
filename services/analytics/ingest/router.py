"""Usage events in, from real senders, each the way its standard says.

Under `/webhooks/{integration_id}/`:
- `{fmt}` (`events`, `caliper`, `xapi`, `canvas`): POST signed the Standard Webhooks way with the
  integration's secret (our own senders and relays). Answers 200 when every event is valid (new
  or duplicate), 207 when some were rejected (listed by index), 422 when none is usable.
- `xapi/statements` (POST, PUT) and `xapi/about` (GET): an xAPI LRS endpoint, Basic auth with
  the integration id and its xAPI key (`ingest/xapi.py`).
- `caliper` with `Authorization: Bearer <token>`: an IMS Caliper 1.1/1.2 endpoint; GET answers
  its configuration.
- `canvas/{token}`: Canvas Live Events delivered over HTTPS, the token in the URL; plain JSON, or
  a JWT signed RS256 by Instructure (verified against its JWKS) or HS256 with the secret.

What each endpoint does is `endpoints.py`; here are its routes (documentation and fallback) and
`WebhookReceiver`, which serves them in front of FastAPI. Every answer is sent after the events are
committed. 401 for a bad credential or signature, 413 above the body cap, 415 for a body that is
not JSON.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, get_args

import structlog
from fastapi import APIRouter, Request, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from services.analytics.config import Settings
from services.analytics.ingest.endpoints import Format, Inbound, handle, problem_answer
from services.analytics.ingest.formats import CALIPER_VERSIONS
from services.analytics.ingest.schemas import IngestResult
from shared.asgi import read_limited_body, send_response
from shared.errors import BadRequest, ProblemError
from shared.observability import RequestContextMiddleware, RouteLabel

log = structlog.get_logger(__name__)
router = APIRouter(prefix="/webhooks", tags=["webhooks"])


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


def _json_answer(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    """The documentation of a 200 these routes answer as raw JSON."""
    return {"description": description, "content": {"application/json": {"schema": schema}}}


_XAPI_IDS = _json_answer(
    "The stored statements' ids, in order",
    {"type": "array", "items": {"type": "string", "format": "uuid"}},
)
_XAPI_ABOUT = _json_answer(
    "The xAPI versions this endpoint speaks (1.0.x only to a 1.0.x client)",
    {
        "type": "object",
        "required": ["version"],
        "properties": {"version": {"type": "array", "items": {"type": "string"}, "examples": [["1.0.3"]]}},
    },
)
_CALIPER_CONFIGURATION = _json_answer(
    "The endpoint configuration a Caliper 1.2 sensor may GET",
    {
        "type": "object",
        "required": ["caliperMaximumPayloadSize", "caliperSupportedVersions", "caliperSupportedExtensions"],
        "properties": {
            "caliperMaximumPayloadSize": {"type": "integer", "description": "KiB", "examples": [8192]},
            "caliperSupportedVersions": {
                "type": "array",
                "items": {"type": "string"},
                "examples": [sorted(CALIPER_VERSIONS)],
            },
            "caliperSupportedExtensions": {
                "type": "object",
                "examples": [{"endpointName": "edtech-platform analytics"}],
            },
        },
    },
)

_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "Bad or stale signature or credential; unknown or disabled integration"},
    413: {"description": "Body over the cap"},
    415: {"description": "Not JSON"},
}


async def _route(request: Request, fmt: str, rest: str = "", integration_id: str = "") -> Response:
    """The FastAPI routes below document the webhooks; WebhookReceiver serves them in front."""
    settings: Settings = request.app.state.runtime.settings
    body = await read_limited_body(
        request.receive,
        declared_length=request.headers.get("content-length"),
        limit=settings.webhook_max_body_bytes,
    )
    if body is None:
        raise BadRequest("the client closed the connection before sending the whole body")
    req = Inbound(
        request.method, integration_id, fmt, rest, request.url.query, request.headers, body, request.url.path
    )
    answer = await handle(request.app.state, req)
    return Response(answer.content, answer.status, answer.headers, media_type=answer.media_type)


@router.post(
    "/{integration_id}/{fmt}",
    response_model=IngestResult,
    responses={207: {"model": IngestResult, "description": "Some events were rejected"}, **_ERRORS},
    openapi_extra={"parameters": _SIGNATURE_HEADERS, "requestBody": _BODY},
)
async def receive_webhook(integration_id: str, fmt: Format, request: Request) -> Response:
    """Ingest a delivery of usage events (`fmt`: events, caliper, xapi or canvas)."""
    return await _route(request, fmt, integration_id=integration_id)


@router.get("/{integration_id}/caliper", responses={200: _CALIPER_CONFIGURATION, 401: _ERRORS[401]})
async def caliper_configuration(integration_id: str, request: Request) -> Response:
    """Caliper endpoint configuration (`Authorization: Bearer` with the integration's Caliper token)."""
    return await _route(request, "caliper", integration_id=integration_id)


@router.post(
    "/{integration_id}/xapi/statements",
    responses={200: _XAPI_IDS, 400: {"description": "Invalid statement or version"}, **_ERRORS},
)
async def xapi_post_statements(integration_id: str, request: Request) -> Response:
    """xAPI: store a statement or an array of them; answers the array of their ids."""
    return await _route(request, "xapi", "statements", integration_id)


@router.put(
    "/{integration_id}/xapi/statements",
    status_code=204,
    responses={400: {"description": "Invalid statement or version"}, **_ERRORS},
)
async def xapi_put_statement(
    integration_id: str,
    request: Request,
    statementId: str | None = None,
) -> Response:
    """xAPI: store one statement under `statementId` (204)."""
    return await _route(request, "xapi", "statements", integration_id)


@router.get("/{integration_id}/xapi/about", responses={200: _XAPI_ABOUT})
async def xapi_about(integration_id: str, request: Request) -> Response:
    """xAPI About resource: the versions this LRS endpoint speaks."""
    return await _route(request, "xapi", "about", integration_id)


@router.post(
    "/{integration_id}/canvas/{token}",
    response_model=IngestResult,
    responses={207: {"model": IngestResult, "description": "Some events were rejected"}, **_ERRORS},
)
async def canvas_delivery(integration_id: str, token: str, request: Request) -> Response:
    """Canvas Live Events over HTTPS: JSON or a JWT (RS256 by Instructure), the token in the URL."""
    return await _route(request, "canvas", token, integration_id)


_FORMATS = frozenset(get_args(Format))
_WANTED_HEADERS = frozenset(
    {
        b"content-type",
        b"content-length",
        b"webhook-id",
        b"webhook-timestamp",
        b"webhook-signature",
        b"authorization",
        b"x-experience-api-version",
    }
)
_METHODS = frozenset({"POST", "PUT", "GET"})


class WebhookReceiver:
    """ASGI: the webhooks (`{prefix}/webhooks/{integration_id}/{fmt}[/...]`) without FastAPI.

    The same answers as the routes (200/204/207, problem+json 4xx, 500), at a fraction of the
    cost; anything else (other methods, unknown formats, other paths) goes on to `app`. It
    sits outside the whole FastAPI stack, with its own request-context middleware (correlation
    id, metrics, the request log, sampled for successes) around the webhook handling only.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        prefix: str,
        service: str,
        traced: Callable[[ASGIApp], ASGIApp] | None = None,
    ) -> None:
        self.app = app
        self.base = f"{prefix}{router.prefix}/"
        self.label = RouteLabel(self.route_template(prefix))
        handle: ASGIApp = RequestContextMiddleware(self._handle, service=service)
        # Traces (when on) as FastAPI's instrumentation would: these requests never reach it.
        self.handle = traced(handle) if traced is not None else handle

    @staticmethod
    def route_template(prefix: str) -> str:
        """The webhook route's path template under `prefix` (its metrics and log label)."""
        return f"{prefix}{router.prefix}/{{integration_id}}/{{fmt}}"

    def _parts(self, path: str) -> tuple[str, str, str] | None:
        integration_id, _, tail = path[len(self.base) :].partition("/")
        fmt, _, rest = tail.partition("/")
        if fmt not in _FORMATS or not integration_id or "/" in rest:
            return None
        return integration_id, fmt, rest

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope.get("path", "")
        if (
            scope["type"] != "http"
            or scope["method"] not in _METHODS
            or not path.startswith(self.base)
            or self._parts(path) is None
        ):
            await self.app(scope, receive, send)
            return
        scope["route"] = self.label
        await self.handle(scope, receive, send)

    async def _handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope["path"]
        parts = self._parts(path)
        assert parts is not None
        state = scope["app"].state
        headers: dict[str, str] = {}
        for key, value in scope["headers"]:
            key = key.lower()
            if key in _WANTED_HEADERS:
                headers.setdefault(key.decode(), value.decode("latin-1"))
        try:
            body = b""
            if scope["method"] != "GET":
                read = await read_limited_body(
                    receive,
                    declared_length=headers.get("content-length"),
                    limit=state.runtime.settings.webhook_max_body_bytes,
                )
                if read is None:
                    return  # the client went away
                body = read
            query = scope.get("query_string", b"").decode("latin-1")
            req = Inbound(scope["method"], *parts, query, headers, body, path)
            answer = await handle(state, req)
        except ProblemError as exc:
            answer = problem_answer(exc, path)
        except Exception:
            log.exception("unhandled_error", path=path)
            answer = problem_answer(
                ProblemError(
                    "an unexpected error occurred; it has been logged", slug="internal-server-error"
                ),
                path,
            )
        await send_response(
            send,
            answer.status,
            answer.content,
            media_type=answer.media_type.encode(),
            headers=[(k.lower().encode(), v.encode("latin-1")) for k, v in answer.headers.items()],
        )
