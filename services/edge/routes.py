"""The public entry point's routes, defined once: which services sit behind `/api/<service>/`, which
paths are public, what the Python gateway serves itself, and how a path is normalised before any of
that is decided.

Both edges read this module: nginx in the distributed mode (its configuration is rendered from it by
`services.edge.nginx`) and the Python gateway of the embedded default (`services.gateway.proxy`).
"""

from __future__ import annotations

import re
from urllib.parse import quote

SERVICES = ("catalog", "pilots", "analytics")
"""The services behind the edge, each under `/api/<service>/`."""

PUBLIC_PREFIXES = ("/api/analytics/webhooks/",)
"""Paths forwarded without a user's bearer token: machine callers (LMSs, xAPI and Caliper clients)
authenticate there with their integration's credentials, which the service checks."""

UPLOAD_PATHS = ("/api/analytics/rosters/import", "/api/analytics/outcomes/results")
"""Routes that take files (roster zips, result CSVs): held to the upload cap, not the body cap."""

EDGE_HEALTH = "/health/edge"
"""Answered by the edge itself (200 while it runs): its liveness and readiness probe."""

GATEWAY_EXACT = ("/openapi.json", "/docs", "/redoc")
GATEWAY_PREFIXES = ("/docs-assets/", "/auth/", "/health/", "/app/")
"""What the Python gateway serves behind the edge: the combined OpenAPI and its pages (their assets
served by us, not a CDN), sign-in and the development token issuer, its health, and the people's
pages under `/app/` (services.gateway.pages). Nothing under `/api/`."""


class UnsafePath(ValueError):
    """A path that cannot be normalised: a bad percent-escape, a NUL, or `..` above the root."""


_ESCAPE = re.compile(rb"%([0-9A-Fa-f]{2})?")


def normalise(raw_path: bytes | str) -> str:
    """The path as nginx routes it: percent-decoded, `//` merged, `.` and `..` segments resolved.

    What is public is decided on this form, and this form is what the service receives, so that no
    encoding of `..`, `/` or `.` can make a path look public to the edge and mean another route to
    the service. Backslashes stay literal characters (neither nginx nor Starlette treats them as
    separators), as does `;` (no path parameters on either side). Bytes that are not UTF-8 are kept
    (as surrogate escapes) and sent on as they came.
    """
    raw = raw_path if isinstance(raw_path, bytes) else raw_path.encode()
    if not raw.startswith(b"/"):
        raise UnsafePath("a path must start with /")

    def unescape(match: re.Match[bytes]) -> bytes:
        if match.group(1) is None:
            raise UnsafePath("a % in the path is not followed by two hex digits")
        return bytes([int(match.group(1), 16)])

    decoded = _ESCAPE.sub(unescape, raw)
    if b"\x00" in decoded:
        raise UnsafePath("the path holds a NUL character")
    segments: list[bytes] = []
    for segment in decoded.split(b"/")[1:]:
        if segment in (b"", b"."):
            continue
        if segment == b"..":
            if not segments:
                raise UnsafePath("the path climbs above the root")
            segments.pop()
            continue
        segments.append(segment)
    trailing = decoded.endswith((b"/", b"/.", b"/..")) and bool(segments)
    path = b"/" + b"/".join(segments) + (b"/" if trailing else b"")
    return path.decode("utf-8", "surrogateescape")


def encode(path: str) -> str:
    """A normalised path as it is sent on: reserved characters other than `/` percent-encoded."""
    return quote(path.encode("utf-8", "surrogateescape"), safe="/:@!$&'()*+,;=-._~")


def service_of(path: str) -> str | None:
    """The service a normalised path goes to, if it is under `/api/<service>/`."""
    parts = path.split("/", 3)
    if len(parts) == 4 and parts[1] == "api" and parts[2] in SERVICES:
        return parts[2]
    return None


def is_public(path: str) -> bool:
    """Whether a normalised path is forwarded without a user's token."""
    return path.startswith(PUBLIC_PREFIXES)


def is_upload(path: str) -> bool:
    """Whether a normalised path takes files (the upload cap applies)."""
    return path.rstrip("/") in UPLOAD_PATHS
