"""One exception hierarchy and one set of handlers: every error is RFC 9457 problem+json."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.observability import current_correlation_id

PROBLEM_JSON = "application/problem+json"
PROBLEM_BASE = "https://edtech-platform.dev/problems/"

log = structlog.get_logger(__name__)


class ProblemError(Exception):
    """An error with an HTTP status that renders as problem+json."""

    status: int = 500
    slug: str = "internal-error"

    def __init__(self, detail: str, *, status: int | None = None, slug: str | None = None, **extra: Any):
        super().__init__(detail)
        self.detail = detail
        if status is not None:
            self.status = status
        if slug is not None:
            self.slug = slug
        self.extra = extra

    def to_problem(self, instance: str | None = None) -> dict[str, Any]:
        """The problem document for this error."""
        return problem(self.status, self.detail, slug=self.slug, instance=instance, **self.extra)

    def headers(self) -> dict[str, str] | None:
        """Response headers this error requires (a 401 names the Bearer scheme)."""
        return {"WWW-Authenticate": "Bearer"} if self.status == 401 else None


class BadRequest(ProblemError):
    """400 for input that cannot be read as what it claims to be; `field` names the culprit."""

    status, slug = 400, "bad-request"

    def __init__(self, detail: str, *, field: str | None = None, **extra: Any):
        if field is not None:
            extra.setdefault("errors", [{"field": field, "message": detail}])
        super().__init__(detail, **extra)


class Unauthorized(ProblemError):
    """401; `scheme` is the challenge sent in `WWW-Authenticate` (Bearer unless said otherwise)."""

    status, slug = 401, "unauthorized"

    def __init__(self, detail: str, *, scheme: str = "Bearer", **extra: Any):
        super().__init__(detail, **extra)
        self.scheme = scheme

    def headers(self) -> dict[str, str] | None:
        """The challenge of the scheme the caller should use."""
        return {"WWW-Authenticate": self.scheme}


class Forbidden(ProblemError):
    status, slug = 403, "forbidden"


class NotFound(ProblemError):
    status, slug = 404, "not-found"


class Conflict(ProblemError):
    status, slug = 409, "conflict"


class PayloadTooLarge(ProblemError):
    status, slug = 413, "payload-too-large"


class UnsupportedMediaType(ProblemError):
    status, slug = 415, "unsupported-media-type"


class Unprocessable(ProblemError):
    """422 for input that parses but breaks a rule; `field` names the culprit."""

    status, slug = 422, "validation-error"

    def __init__(self, detail: str, *, field: str | None = None, **extra: Any):
        if field is not None:
            extra.setdefault("errors", [{"field": field, "message": detail}])
        super().__init__(detail, **extra)


class TooManyRequests(ProblemError):
    """429; `retry_after_s` is sent in `Retry-After`."""

    status, slug = 429, "too-many-requests"

    def __init__(self, detail: str, *, retry_after_s: int = 1, **extra: Any):
        super().__init__(detail, **extra)
        self.retry_after_s = retry_after_s

    def headers(self) -> dict[str, str] | None:
        """When to try again."""
        return {"Retry-After": str(self.retry_after_s)}


class BadGateway(ProblemError):
    status, slug = 502, "bad-gateway"


class ServiceUnavailable(ProblemError):
    status, slug = 503, "service-unavailable"


class GatewayTimeout(ProblemError):
    status, slug = 504, "gateway-timeout"


def problem(
    status: int, detail: str, *, slug: str | None = None, instance: str | None = None, **extra: Any
) -> dict[str, Any]:
    """Build an RFC 9457 problem document."""
    title = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Error"
    doc: dict[str, Any] = {
        "type": PROBLEM_BASE + (slug or title.lower().replace(" ", "-")),
        "title": title,
        "status": status,
        "detail": detail,
    }
    if instance:
        doc["instance"] = instance
    doc.update(extra)
    return doc


def problem_response(
    status: int, detail: str, *, headers: dict[str, str] | None = None, **extra: Any
) -> JSONResponse:
    """A problem+json response."""
    return JSONResponse(
        problem(status, detail, **extra), status_code=status, media_type=PROBLEM_JSON, headers=headers
    )


def _field_path(loc: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] in {"body", "query", "path", "header", "cookie"} and len(parts) > 1:
        parts = parts[1:]
    return ".".join(parts) or "body"


def validation_errors(errors: list[Any]) -> list[dict[str, Any]]:
    """Pydantic errors as [{field, message, type}], the field as a dotted path."""
    out = []
    for err in errors:
        loc = err.get("loc", ())
        field = _field_path(loc)
        if err.get("type") == "json_invalid":
            field = "body"
        out.append({"field": field, "message": err.get("msg", "invalid"), "type": err.get("type")})
    return out


def internal_error(path: str) -> JSONResponse:
    """The 500 of an unexpected error: problem+json with the correlation id it is logged under."""
    cid = current_correlation_id()
    extra: dict[str, Any] = {"correlation_id": cid} if cid else {}
    return problem_response(500, "an unexpected error occurred; it has been logged", instance=path, **extra)


class UnexpectedErrors:
    """ASGI: an exception no handler took becomes the app's own problem+json 500.

    Starlette's outermost handler answers too, but then re-raises, and the server closes a
    connection whose app raised: the client's next request on it would fail as well. Answered
    here, the exception ends with the response and the keep-alive connection stays usable.
    (An exception after the response has started can only end the connection: it is re-raised.)
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracked(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracked)
        except Exception:
            if started:
                raise
            log.exception("unhandled_error", path=scope.get("path", ""))
            await internal_error(scope.get("path", ""))(scope, receive, send)


def install_problem_handlers(app: FastAPI) -> None:
    """Register the handlers that turn every error into problem+json (and `UnexpectedErrors`
    around what is installed so far: add middleware whose errors it should answer before)."""

    app.add_middleware(UnexpectedErrors)

    @app.exception_handler(ProblemError)
    async def _problem(request: Request, exc: ProblemError) -> JSONResponse:
        return JSONResponse(
            exc.to_problem(request.url.path),
            status_code=exc.status,
            media_type=PROBLEM_JSON,
            headers=exc.headers(),
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = validation_errors(list(exc.errors()))
        detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors[:5]) or "invalid request"
        return problem_response(
            422, detail, slug="validation-error", instance=request.url.path, errors=errors
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
        if exc.status_code == 404 and detail == "Not Found":
            detail = f"no route for {request.method} {request.url.path}"
        if exc.status_code == 405:
            detail = f"method {request.method} is not allowed on {request.url.path}"
        return problem_response(
            exc.status_code, detail, instance=request.url.path, headers=getattr(exc, "headers", None)
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled_error", path=request.url.path)
        return internal_error(request.url.path)
