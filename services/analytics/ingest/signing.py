"""Standard Webhooks signatures: HMAC-SHA256 over `{webhook-id}.{webhook-timestamp}.{body}`.

Secrets look like `whsec_<base64 key>`. The `webhook-signature` header holds one or more
space-separated `v1,<base64 signature>` entries so a sender can sign with old and new secrets
while it rotates.

The same secret also derives the credentials of senders that cannot sign (`credential`): an
xAPI client's Basic-auth password, a Caliper sensor's Bearer token, the token in a Canvas
delivery URL.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets as _secrets
from collections.abc import Iterable, Mapping

from shared.errors import Unauthorized

SECRET_PREFIX = "whsec_"  # noqa: S105  (a prefix, not a secret)


def new_secret() -> str:
    """A fresh integration secret (`whsec_` + 32 random bytes, base64)."""
    return SECRET_PREFIX + base64.b64encode(_secrets.token_bytes(32)).decode()


def secret_key(secret: str) -> bytes:
    """The raw HMAC key of a `whsec_...` secret."""
    return base64.b64decode(secret.removeprefix(SECRET_PREFIX))


def sign(secret: str, webhook_id: str, timestamp: int, body: bytes) -> str:
    """The `webhook-signature` header value for a body (one `v1,` entry)."""
    mac = hmac.new(secret_key(secret), f"{webhook_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


def signed_headers(secret: str, webhook_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The three Standard Webhooks headers for a body (for senders and tests)."""
    return {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(secret, webhook_id, timestamp, body),
    }


def verify(
    headers: Mapping[str, str], body: bytes, *, secrets: Iterable[str], now: float, tolerance_s: int
) -> str:
    """Check the signature headers against any of `secrets`; returns the webhook-id (401 otherwise)."""
    webhook_id = headers.get("webhook-id")
    raw_ts = headers.get("webhook-timestamp")
    raw_sig = headers.get("webhook-signature")
    if not webhook_id or not raw_ts or not raw_sig:
        raise Unauthorized("webhook-id, webhook-timestamp and webhook-signature headers are required")
    if len(webhook_id) > 255:
        raise Unauthorized("webhook-id is longer than 255 characters")
    try:
        timestamp = int(raw_ts)
    except ValueError as exc:
        raise Unauthorized("webhook-timestamp must be integer seconds since the epoch") from exc
    if abs(now - timestamp) > tolerance_s:
        raise Unauthorized(
            f"webhook-timestamp is more than {tolerance_s} s away from now (stale or replayed)"
        )
    offered = [part.split(",", 1)[1] for part in raw_sig.split() if part.startswith("v1,")]
    if not offered:
        raise Unauthorized("webhook-signature has no v1 signature")
    signed = f"{webhook_id}.{timestamp}.".encode() + body
    for secret in secrets:
        try:
            key = secret_key(secret)
        except ValueError:
            continue
        expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
        if any(hmac.compare_digest(expected, candidate) for candidate in offered):
            return webhook_id
    raise Unauthorized("webhook signature does not match")


def credential(secret: str, purpose: str) -> str:
    """The credential an LMS is configured with for `purpose` (`xapi`, `caliper`, `canvas`).

    Derived from the integration secret (HMAC-SHA256 of the purpose, base64url), so one secret
    owns every credential: rotating it rotates them all, with the same grace period, and the
    signing key itself never travels in a URL or a Basic-auth header.
    """
    mac = hmac.new(secret_key(secret), b"integration-credential:" + purpose.encode(), hashlib.sha256)
    return base64.urlsafe_b64encode(mac.digest()).rstrip(b"=").decode()


def credential_matches(offered: str, *, secrets: Iterable[str], purpose: str) -> bool:
    """Whether `offered` is the `purpose` credential of any of `secrets` (constant-time compare)."""
    matched = False
    for secret in secrets:
        try:
            expected = credential(secret, purpose)
        except ValueError:
            continue
        matched |= hmac.compare_digest(expected.encode(), offered.encode("utf-8", "replace"))
    return matched
