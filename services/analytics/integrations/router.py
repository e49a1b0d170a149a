"""HTTP routes for LMS integrations (edtech and admin only)."""

from __future__ import annotations

import datetime as dt
import uuid

from fastapi import APIRouter, Request, status

from services.analytics.deps import IntegrationCacheDep, Manager, SettingsDep, public_base
from services.analytics.identity.repository import IdentityRepository
from services.analytics.ingest.signing import credential
from services.analytics.integrations import service
from services.analytics.integrations.repository import IntegrationRepository
from services.analytics.integrations.schemas import (
    Endpoint,
    IntegrationCreate,
    IntegrationRead,
    IntegrationSecretRead,
    UnmatchedActorRead,
    UnrecognizedRead,
    VocabularyUpdate,
)
from services.analytics.models import Integration
from shared.api import Page, PageDep, SessionDep

router = APIRouter(prefix="/integrations", tags=["integrations"])

FORMATS = ("events", "caliper", "xapi", "canvas")


def _with_secret(integration: Integration, request: Request) -> IntegrationSecretRead:
    base = IntegrationRead.model_validate(integration).model_dump()
    root = f"{public_base(request)}/api/analytics/webhooks/{integration.id}"
    urls = {f: f"/api/analytics/webhooks/{integration.id}/{f}" for f in FORMATS}
    secret = integration.secret
    endpoints = {
        "xapi": Endpoint(
            url=f"{root}/xapi/",
            auth="Basic: the LRS key and secret below",
            username=str(integration.id),
            password=credential(secret, "xapi"),
        ),
        "caliper": Endpoint(
            url=f"{root}/caliper",
            auth="Bearer: the token below (Authorization: Bearer <token>)",
            token=credential(secret, "caliper"),
        ),
        "canvas": Endpoint(
            url=f"{root}/canvas/{credential(secret, 'canvas')}",
            auth="none beyond the URL: it holds the token (Live Events, HTTPS delivery, JSON or signed JWT)",
        ),
        "standard_webhooks": Endpoint(
            url=f"{root}/{{format}}",
            auth="Standard Webhooks headers signed with `secret` (format: events, caliper, xapi, canvas)",
        ),
    }
    return IntegrationSecretRead(**base, secret=secret, webhook_urls=urls, endpoints=endpoints)


@router.post("", status_code=status.HTTP_201_CREATED, response_model=IntegrationSecretRead)
async def create_integration(
    body: IntegrationCreate, session: SessionDep, principal: Manager, request: Request
) -> IntegrationSecretRead:
    """Create an LMS integration; the answer holds its signing secret, shown only this once."""
    return _with_secret(
        await service.create_integration(session, district_id=principal.district_id, data=body), request
    )


@router.get("", response_model=Page[IntegrationRead])
async def list_integrations(session: SessionDep, principal: Manager, page: PageDep) -> Page[IntegrationRead]:
    """List the district's integrations, newest first."""
    rows, total = await IntegrationRepository(session).list(
        district_id=principal.district_id, limit=page.limit, offset=page.offset
    )
    return Page(
        items=[IntegrationRead.model_validate(r) for r in rows],
        total=total,
        limit=page.limit,
        offset=page.offset,
    )


@router.post("/{integration_id}/rotate-secret", response_model=IntegrationSecretRead)
async def rotate_secret(
    integration_id: uuid.UUID,
    session: SessionDep,
    principal: Manager,
    settings: SettingsDep,
    cache: IntegrationCacheDep,
    request: Request,
) -> IntegrationSecretRead:
    """Issue a new secret; the old one stays valid for `ANALYTICS_SECRET_GRACE_PERIOD_S`."""
    integration = await service.rotate_secret(
        session,
        district_id=principal.district_id,
        integration_id=integration_id,
        grace=dt.timedelta(seconds=settings.secret_grace_period_s),
    )
    cache.invalidate(integration_id)
    return _with_secret(integration, request)


@router.put("/{integration_id}/vocabulary", response_model=IntegrationRead)
async def set_vocabulary(
    integration_id: uuid.UUID,
    body: VocabularyUpdate,
    session: SessionDep,
    principal: Manager,
    cache: IntegrationCacheDep,
) -> IntegrationRead:
    """Replace the integration's vocabulary overrides (applies to events received from now on)."""
    integration = await service.set_vocabulary(
        session, district_id=principal.district_id, integration_id=integration_id, overrides=body.vocabulary
    )
    cache.invalidate(integration_id)
    return IntegrationRead.model_validate(integration)


@router.get("/{integration_id}/unmatched-actors", response_model=Page[UnmatchedActorRead])
async def list_unmatched_actors(
    integration_id: uuid.UUID, session: SessionDep, principal: Manager, page: PageDep
) -> Page[UnmatchedActorRead]:
    """Actors of the integration's events that no rostered person matched yet, most events first.

    Their events are counted under the actor's own name; once a roster import matches one, its
    events move to the person, it leaves this list, and the dashboards are recounted.
    """
    await service.get_integration(session, district_id=principal.district_id, integration_id=integration_id)
    rows, total = await IdentityRepository(session).page_unmatched(
        district_id=principal.district_id, integration_id=integration_id, limit=page.limit, offset=page.offset
    )
    return Page(
        items=[UnmatchedActorRead.model_validate(r) for r in rows],
        total=total,
        limit=page.limit,
        offset=page.offset,
    )


@router.get("/{integration_id}/unrecognized", response_model=Page[UnrecognizedRead])
async def list_unrecognized(
    integration_id: uuid.UUID, session: SessionDep, principal: Manager, page: PageDep
) -> Page[UnrecognizedRead]:
    """Verbs, Caliper actions and Canvas event names the integration sent that no vocabulary knows.

    Such events are stored as `unrecognized` (never counted as a feature); map a name to a kind
    with `PUT .../vocabulary` for the events that come after.
    """
    await service.get_integration(session, district_id=principal.district_id, integration_id=integration_id)
    rows, total = await IdentityRepository(session).page_unrecognized(
        district_id=principal.district_id, integration_id=integration_id, limit=page.limit, offset=page.offset
    )
    return Page(
        items=[UnrecognizedRead.model_validate(r) for r in rows],
        total=total,
        limit=page.limit,
        offset=page.offset,
    )


@router.post("/{integration_id}/disable", response_model=IntegrationRead)
async def disable_integration(
    integration_id: uuid.UUID, session: SessionDep, principal: Manager, cache: IntegrationCacheDep
) -> IntegrationRead:
    """Disable an integration: its webhooks are refused (401) from now on."""
    integration = await service.set_enabled(
        session, district_id=principal.district_id, integration_id=integration_id, enabled=False
    )
    cache.invalidate(integration_id)
    return IntegrationRead.model_validate(integration)


@router.post("/{integration_id}/enable", response_model=IntegrationRead)
async def enable_integration(
    integration_id: uuid.UUID, session: SessionDep, principal: Manager, cache: IntegrationCacheDep
) -> IntegrationRead:
    """Enable a disabled integration again."""
    integration = await service.set_enabled(
        session, district_id=principal.district_id, integration_id=integration_id, enabled=True
    )
    cache.invalidate(integration_id)
    return IntegrationRead.model_validate(integration)
