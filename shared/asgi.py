"""Plain-ASGI pieces for hot paths served in front of FastAPI (the gateway's forwarding, the
analytics webhooks): a size-limited body read and raw responses, problem+json included."""

from __future__ import annotations

from collections.abc import Iterable

import orjson
from starlette.types import ASGIApp, Receive, Scope, Send

from shared.errors import PROBLEM_JSON, PayloadTooLarge, ProblemError


async def read_limited_body(receive: Receive, *, declared_length: str | None, limit: int) -> bytes | None:
    """The request body, refused with 413 once it passes `limit` bytes (declared or streamed);
    None when the client disconnected before sending it all."""
    if declared_length is not None and declared_length.isdigit() and int(declared_length) > limit:
        raise PayloadTooLarge(
            f"request body of {int(declared_length)} bytes exceeds the limit of {limit} bytes"
        )
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunk = message.get("body", b"")
        if chunk:
            size += len(chunk)
            if size > limit:
                raise PayloadTooLarge(f"request body exceeds the limit of {limit} bytes")
            chunks.append(chunk)
        if not message.get("more_body", False):
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)


async def send_response(
    send: Send,
    status: int,
    content: bytes,
    *,
    media_type: bytes = b"application/json",
    headers: Iterable[tuple[bytes, bytes]] = (),
) -> None:
    """Send a complete response: status, content type and length, extra headers, the body."""
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", media_type),
                (b"content-length", str(len(content)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": content})


async def send_problem(send: Send, error: ProblemError, *, instance: str) -> None:
    """Send `error` as problem+json, with the headers it requires."""
    headers = [(k.lower().encode(), v.encode()) for k, v in (error.headers() or {}).items()]
    await send_response(
        send,
        error.status,
        orjson.dumps(error.to_problem(instance)),
        media_type=PROBLEM_JSON.encode(),
        headers=headers,
    )


class LateBoundApp:
    """An ASGI app that forwards to one bound after it was handed out (`target`): an in-process
    transport to an app that is built later (the embedded default's gateway, built last)."""

    target: ASGIApp | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.target is None:
            raise RuntimeError("LateBoundApp called before its target was bound")
        await self.target(scope, receive, send)
