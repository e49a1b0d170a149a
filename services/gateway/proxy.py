"""Forwarding requests to the services with one pooled client; faults become 502/504."""

from __future__ import annotations

import httpx
from starlette.requests import Request
from starlette.responses import Response

from services.gateway.config import Settings
from shared.errors import BadGateway, GatewayTimeout, PayloadTooLarge
from shared.observability import CORRELATION_HEADER, current_correlation_id

HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailers",
        "transfer-encoding",
        "upgrade",
        "host",
        "content-length",
    }
)


async def read_limited_body(request: Request, limit: int) -> bytes:
    """The request body, refused with 413 once it passes `limit` bytes (declared or streamed)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"request body of {declared} bytes exceeds the limit of {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"request body exceeds the limit of {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


class Proxy:
    """Forwards a request to one upstream service and relays its answer."""

    def __init__(self, settings: Settings, client: httpx.AsyncClient) -> None:
        self.settings = settings
        self.client = client

    async def forward(self, request: Request, service: str) -> Response:
        """Send the request on to `service`; map unreachable to 502 and slow to 504."""
        body = await read_limited_body(request, self.settings.max_body_bytes)
        headers = [(k, v) for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP]
        headers.append((CORRELATION_HEADER, current_correlation_id() or ""))
        client_host = request.client.host if request.client else ""
        headers.append(("X-Forwarded-For", client_host))
        url = self.settings.upstream_url(service) + request.url.path
        try:
            upstream = await self.client.request(
                request.method, url, params=request.url.query or None, content=body, headers=headers
            )
        except httpx.TimeoutException as exc:
            raise GatewayTimeout(f"the {service} service did not answer in time") from exc
        except httpx.TransportError as exc:
            raise BadGateway(f"the {service} service is unreachable") from exc
        out_headers = {
            k: v
            for k, v in upstream.headers.items()
            if k.lower() not in HOP_BY_HOP
            and k.lower() != CORRELATION_HEADER.lower()
            and k.lower() != "content-encoding"
        }
        return Response(upstream.content, status_code=upstream.status_code, headers=out_headers)
