"""The identifier keys of people and actors: `kind:value`, one spelling each.

Kinds: `sourced` (OneRoster sourcedId), `sis` (SIS id: OneRoster `identifier`), `username`
(login), `email`, `sha1` (xAPI `mbox_sha1sum`: SHA-1 of `mailto:<email>`), `id` (any system's
user id: OneRoster `userIds` values, Caliper `SystemId`/`LtiUserId`, Moodle's account name) and
`id.<system>` (one system's id, e.g. `id.canvas`). Usernames and emails compare case-insensitively.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator

MAX_KEY = 320
"""The longest key stored (longer identifiers are not indexed)."""


def key(kind: str, value: object) -> str | None:
    """The key of one identifier; None when it is empty or too long to be an identifier."""
    text = str(value).strip() if value is not None else ""
    if not text:
        return None
    if kind in ("username", "email"):
        text = text.lower()
    if kind == "sha1":
        text = text.lower().removeprefix("sha1:")
    out = f"{kind}:{text}"
    return out if len(out) <= MAX_KEY else None


def email_keys(address: str) -> list[str]:
    """An email address as a person's keys: itself and its xAPI `mbox_sha1sum`."""
    address = address.strip().removeprefix("mailto:").lower()
    if not address:
        return []
    digest = hashlib.sha1(f"mailto:{address}".encode()).hexdigest()  # noqa: S324 (xAPI defines it)
    return [k for k in (key("email", address), key("sha1", digest)) if k]


def account_keys(value: str) -> list[str]:
    """A bare account identifier (xAPI account name, an IRI's last segment): any of the id kinds."""
    return [k for kind in ("sourced", "sis", "username", "id") if (k := key(kind, value))]


def roster_keys(
    *,
    sourced_id: str,
    identifier: str | None,
    username: str | None,
    email: str | None,
    user_ids: Iterable[str],
) -> list[str]:
    """Every key a rostered person can be found by."""
    keys = [key("sourced", sourced_id), key("sis", identifier), key("username", username)]
    keys.extend(email_keys(email or ""))
    for entry in user_ids:
        system, _, value = entry.partition(":")
        if value:
            keys.extend((key("id", value), key(f"id.{system.strip().lower()}", value)))
    return list(dict.fromkeys(k for k in keys if k))


def unique(keys: Iterable[str | None]) -> tuple[str, ...]:
    """Keys in order, once each, empty ones dropped."""
    return tuple(dict.fromkeys(k for k in keys if k))


def values(keys: Iterable[str]) -> Iterator[str]:
    """The identifier part of keys."""
    for k in keys:
        yield k.partition(":")[2]
