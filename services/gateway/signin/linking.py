"""Linking a signed-in identity to the person's rostered record when the provider gives no sourcedId:
the gateway asks analytics, which owns the roster, whom the verified email names."""

from __future__ import annotations

import dataclasses

import httpx
import structlog

from services.gateway.config import Settings
from services.gateway.signin.providers.service import Person
from services.gateway.signin.runtime import SignIn

log = structlog.get_logger(__name__)

GATEWAY_SUBJECT = "platform:gateway"
"""Who the gateway is when it asks a service something at sign-in."""


async def linked(
    person: Person, *, district_id: str, signin: SignIn, http: httpx.AsyncClient, settings: Settings
) -> Person:
    """The person with their rostered sourcedId as subject when the roster knows their email; as they
    were otherwise (or when analytics cannot answer: signing in does not depend on it)."""
    if person.sourced_id is not None or person.email is None:
        return person
    token, _ = await signin.issuer.mint(subject=GATEWAY_SUBJECT, district_id=district_id, roles=["admin"])
    try:
        response = await http.get(
            f"{settings.upstream_url('analytics')}/api/analytics/people/resolve",
            params={"email": person.email},
            headers={"Authorization": f"Bearer {token}"},
            timeout=3.0,
        )
    except httpx.HTTPError as exc:
        log.warning("roster_link_unavailable", district_id=district_id, error=repr(exc))
        return person
    if response.status_code != 200:
        return person
    sourced = response.json().get("sourced_id")
    if not isinstance(sourced, str) or not sourced:
        return person
    return dataclasses.replace(person, subject=sourced, sourced_id=sourced)
