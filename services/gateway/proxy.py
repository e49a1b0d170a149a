"""Forwarding `/api/<service>/...` to the services: the embedded default's edge, a lean ASGI handler
in front of the FastAPI app (the distributed mode's edge is nginx, `services.edge`).

It decides as nginx does, from `services.edge.routes`: the path normalised first (400 if it cannot
be), the service and whether the route is public read off that form, and that form sent on. Then:
authenticate (verified tokens are cached until they expire, at most a few minutes), read the body
up to the cap of the route (413), forward with one pooled httpx client, relay the answer;
unreachable -> 502, slow -> 504. No rate limits here: the embedded default serves one machine.
The caller's W3C `traceparent` / `tracestate` go on with the other headers (the gateway makes no span
of its own), so a traced caller's trace continues in the service (`shared.tracing`).
"""

from __future__ import annotations

import time
from collections import OrderedDict

import httpx
from starlette.types import ASGIApp, Receive, Scope, Send

from services.edge import routes
from services.edge.routes import SERVICES as UPSTREAMS
from services.gateway.config import Settings
from shared.asgi import read_limited_body, send_problem
from shared.auth import TokenVerifier
from shared.errors import BadGateway, BadRequest, GatewayTimeout, NotFound, ProblemError, Unauthorized
from shared.observability import CORRELATION_HEADER, RouteLabel, current_correlation_id

HOP_BY_HOP = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-authenticate",
        b"proxy-authorization",
        b"te",
        b"trailers",
        b"transfer-encoding",
        b"upgrade",
        b"host",
        b"content-length",
    }
)
RESPONSE_DROP = frozenset({*HOP_BY_HOP, b"content-encoding", CORRELATION_HEADER.lower().encode()})


class VerifiedTokenCache:
    """Tokens already verified, until they expire (at most `max_age_s`), bounded in size."""

    def __init__(self, *, max_entries: int = 10_000, max_age_s: float = 300.0) -> None:
        self.max_entries = max_entries
        self.max_age_s = max_age_s
        self._entries: OrderedDict[str, float] = OrderedDict()

    def valid(self, token: str) -> bool:
        """Whether `token` was verified and has not expired since."""
        deadline = self._entries.get(token)
        if deadline is None:
            return False
        if deadline < time.monotonic():
            del self._entries[token]
            return False
        return True

    def remember(self, token: str, *, expires_at: float | None) -> None:
        """Record a verified token until `expires_at` (its `exp`) or `max_age_s`, whichever is sooner."""
        if expires_at is None:
            return
        remaining = min(expires_at - time.time(), self.max_age_s)
        if remaining <= 0:
            return
        self._entries[token] = time.monotonic() + remaining
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)


class ApiProxy:
    """ASGI app: `/api/<service>/...` is forwarded; everything else goes to `fallback`."""

    def __init__(
        self, app: ASGIApp, *, settings: Settings, client: httpx.AsyncClient, verifier: TokenVerifier
    ) -> None:
        self.fallback = app
        self.settings = settings
        self.client = client
        self.verifier = verifier
        self.tokens = VerifiedTokenCache()
        self.bases = {s: settings.upstream_url(s) for s in UPSTREAMS}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.fallback(scope, receive, send)
            return
        # Decide on the path as nginx would (decoded, dot segments resolved), and route that form.
        path: str = scope.get("path", "")
        try:
            path = routes.normalise(scope.get("raw_path") or path.encode())
        except routes.UnsafePath as exc:
            await send_problem(send, BadRequest(str(exc), field="path"), instance=path)
            return
        if not path.startswith("/api/"):
            scope["path"], scope["raw_path"] = path, routes.encode(path).encode()
            await self.fallback(scope, receive, send)
            return
        try:
            await self._forward(scope, receive, send, path)
        except ProblemError as exc:
            await send_problem(send, exc, instance=path)

    async def _forward(self, scope: Scope, receive: Receive, send: Send, path: str) -> None:
        service = routes.service_of(path)
        if service is None:
            raise NotFound(f"no such route; the API is under /api/<service>/ ({', '.join(UPSTREAMS)})")
        scope["route"] = RouteLabel(f"/api/{service}")  # the metrics label
        headers: list[tuple[bytes, bytes]] = scope["headers"]
        if not routes.is_public(path):
            await self._authenticate(headers)
        declared = next((v for k, v in headers if k == b"content-length"), None)
        body = await read_limited_body(
            receive,
            declared_length=declared.decode("latin-1") if declared else None,
            limit=self.settings.max_upload_bytes if routes.is_upload(path) else self.settings.max_body_bytes,
        )
        if body is None:
            return  # the client went away before sending its body: nothing to forward or answer
        forward_headers = [(k, v) for k, v in headers if k not in HOP_BY_HOP]
        forward_headers.append((CORRELATION_HEADER.encode(), (current_correlation_id() or "").encode()))
        client = scope.get("client")
        forward_headers.append((b"x-forwarded-for", (client[0] if client else "").encode()))
        query = scope.get("query_string", b"")
        url = self.bases[service] + routes.encode(path) + ("?" + query.decode("latin-1") if query else "")
        try:
            upstream = await self.client.request(scope["method"], url, content=body, headers=forward_headers)
        except httpx.TimeoutException as exc:
            raise GatewayTimeout(f"the {service} service did not answer in time") from exc
        except httpx.InvalidURL as exc:
            raise BadRequest(f"the request URL cannot be forwarded: {exc}") from exc
        except httpx.TransportError as exc:
            raise BadGateway(f"the {service} service is unreachable") from exc
        out = [(k, v) for k, v in upstream.headers.raw if k.lower() not in RESPONSE_DROP]
        content = upstream.content
        out.append((b"content-length", str(len(content)).encode()))
        await send({"type": "http.response.start", "status": upstream.status_code, "headers": out})
        await send({"type": "http.response.body", "body": content})

    async def _authenticate(self, headers: list[tuple[bytes, bytes]]) -> None:
        value = next((v for k, v in headers if k == b"authorization"), b"").decode("latin-1")
        scheme, _, token = value.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise Unauthorized("a bearer token is required (Authorization: Bearer <token>)")
        if self.tokens.valid(token):
            return
        principal = await self.verifier.verify(token)
        self.tokens.remember(token, expires_at=principal.expires_at)
