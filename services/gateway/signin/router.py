"""Sign-in routes: `/auth/login` -> the district's provider -> `/auth/callback` -> a session;
`/auth/token` for frontends, `/auth/logout`, and the platform issuer's keys and discovery."""

from __future__ import annotations

import datetime as dt
import html
import secrets
import uuid
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from pydantic import BaseModel

from services.gateway.models import IdentityProvider, LoginAttempt
from services.gateway.signin.deps import RepoDep, SignInDep
from services.gateway.signin.linking import linked
from services.gateway.signin.oidc import Pkce, SignInFailed
from services.gateway.signin.providers.service import auth_params, claims_needed, client_of, person_of
from services.gateway.signin.repository import SignInRepository
from services.gateway.signin.runtime import SignIn
from services.gateway.signin.session import (
    LOGIN_COOKIE,
    audit,
    clear_session_cookie,
    current_session,
    digest,
    find_session,
    safe_return_to,
    session_token,
    set_session_cookie,
    start_session,
)
from shared.config import DISTRICT_ROLES, Role
from shared.errors import BadRequest, Forbidden, Unauthorized

router = APIRouter(prefix="/auth", tags=["sign-in"])

ASCII = r"^[\x21-\x7e]+$"
"""Query values that are URLs, codes or paths: printable ASCII, and bounded so that the longest request
line of these routes, percent-encoded, stays under the edge's 16 KiB (a 414 nobody documents)."""


class TokenRead(BaseModel):
    """A platform token for the signed-in person."""

    access_token: str
    token_type: str = "Bearer"  # noqa: S105 (the scheme name)
    expires_in: int


class SessionRead(BaseModel):
    """Who is signed in."""

    subject: str
    district_id: str
    roles: list[str]
    name: str | None
    email: str | None
    expires_at: str


@router.get("/jwks.json")
async def jwks(signin: SignInDep) -> JSONResponse:
    """The platform issuer's public keys: every service verifies the platform's tokens with them."""
    return JSONResponse(await signin.issuer.jwks(), headers={"Cache-Control": "public, max-age=300"})


@router.get("/.well-known/openid-configuration")
async def discovery(signin: SignInDep) -> dict[str, Any]:
    """The platform issuer's discovery document."""
    issuer = signin.issuer.issuer
    return {
        "issuer": issuer,
        "jwks_uri": f"{issuer}/jwks.json",
        "authorization_endpoint": f"{issuer}/login",
        "token_endpoint": f"{issuer}/token",
        "end_session_endpoint": f"{issuer}/logout",
        "id_token_signing_alg_values_supported": ["RS256"],
        "subject_types_supported": ["public"],
        "response_types_supported": ["code"],
    }


async def _choose_provider(
    repo: SignInRepository, *, provider: uuid.UUID | None, district: str | None, iss: str | None
) -> IdentityProvider:
    if provider is not None:
        row = await repo.provider(provider)
        candidates = [row] if row is not None and row.enabled else []
    else:
        rows = await repo.providers(district_id=district, issuer=iss.rstrip("/") if iss else None)
        candidates = [r for r in rows if r.enabled]
    if not candidates:
        named = "provider" if provider is not None else "iss" if iss is not None else "district"
        raise BadRequest("no identity provider is registered for this sign-in", field=named)
    if len(candidates) > 1:
        names = ", ".join(f"{r.name} ({r.id})" for r in candidates)
        raise BadRequest(f"several providers match; name one with `provider`: {names}", field="provider")
    return candidates[0]


_DEV_FORM = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sign in (development)</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body><main><h1>Sign in (development issuer)</h1>
<p>This platform runs with its development issuer: choose who you are. Production signs people in
at their district's identity provider.</p>
<form method="post" action="/auth/dev/login">
<input type="hidden" name="return_to" value="{return_to}">
<p><label for="district_id">District</label>
<input id="district_id" name="district_id" value="demo-district" required></p>
<fieldset><legend>Roles</legend>{roles}</fieldset>
<p><label for="subject">Your id (a rostered teacher's sourcedId)</label>
<input id="subject" name="subject" value="dev-user" required></p>
<p><label for="name">Name</label> <input id="name" name="name"></p>
<p><label for="email">Email</label> <input id="email" name="email" type="email"></p>
<p><button type="submit">Sign in</button></p>
</form></main></body></html>"""

_SIGNED_OUT = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Signed out</title></head>
<body><main><h1>You are signed out</h1><p><a href="/auth/login">Sign in again</a></p></main></body></html>"""


def _dev_form(return_to: str) -> HTMLResponse:
    boxes = (
        f'<input type="checkbox" name="roles" value="{r}"{" checked" if r == "edtech" else ""}> {r}'
        for r in DISTRICT_ROLES
    )
    roles = " ".join(f"<label>{box}</label>" for box in boxes)
    return HTMLResponse(_DEV_FORM.format(return_to=html.escape(return_to, quote=True), roles=roles))


_REDIRECT = {"description": "Redirect (see Location)", "content": None}


@router.get(
    "/login",
    response_model=None,
    response_class=HTMLResponse,
    responses={200: {"description": "The development issuer's sign-in form"}, 302: _REDIRECT},
)
async def login(
    request: Request,
    signin: SignInDep,
    district: Annotated[
        str | None, Query(max_length=64, description="The district whose provider to use")
    ] = None,
    provider: Annotated[uuid.UUID | None, Query(description="A registered provider (its login_url)")] = None,
    iss: Annotated[
        str | None,
        Query(max_length=1000, pattern=ASCII, description="Third-party initiated login: the issuer"),
    ] = None,
    login_hint: Annotated[str | None, Query(max_length=200)] = None,
    target_link_uri: Annotated[str | None, Query(max_length=1000, pattern=ASCII)] = None,
    return_to: Annotated[
        str | None, Query(max_length=1000, pattern=ASCII, description="A path of this platform")
    ] = None,
) -> HTMLResponse | RedirectResponse:
    """Start signing in: to the district's provider (code flow with PKCE); the dev issuer's form when
    nothing names a provider and the platform runs with it."""
    back = safe_return_to(return_to or _path_of(target_link_uri, signin))
    if district is None and provider is None and iss is None:
        if signin.settings.auth_dev_issuer:
            return _dev_form(back)
        raise BadRequest("name the district (`district`) or its provider (`provider`)", field="district")
    async with signin.db.transaction() as session:
        row = await _choose_provider(SignInRepository(session), provider=provider, district=district, iss=iss)
        client = client_of(row, signin.box)
    try:
        doc = await signin.rp.discover(client)
    except SignInFailed as exc:
        await _failed(signin, request, row, exc.reason)
        raise BadRequest(f"the district's provider cannot be used right now: {exc.reason}") from exc
    state, nonce, pkce = secrets.token_urlsafe(32), secrets.token_urlsafe(24), Pkce.new()
    now = signin.clock.now()
    async with signin.db.transaction() as session:
        SignInRepository(session).add(
            LoginAttempt(
                state_hash=digest(state),
                provider_id=row.id,
                nonce=nonce,
                code_verifier=pkce.verifier,
                return_to=back,
                created_at=now,
                expires_at=now + dt.timedelta(seconds=signin.settings.login_ttl_s),
            )
        )
    extra = auth_params(row) | ({"login_hint": login_hint} if login_hint else {})
    url = signin.rp.authorization_url(
        doc, client, redirect_uri=signin.redirect_uri, state=state, nonce=nonce, pkce=pkce, extra=extra
    )
    response = RedirectResponse(url, status_code=302)
    response.set_cookie(
        LOGIN_COOKIE,
        state,
        max_age=signin.settings.login_ttl_s,
        path="/auth/callback",
        httponly=True,
        secure=signin.secure_cookies,
        samesite="lax",
    )
    return response


def _path_of(uri: str | None, signin: SignIn) -> str | None:
    base = signin.settings.public_url.rstrip("/")
    return uri[len(base) :] or "/" if uri and uri.startswith(base + "/") else None


async def _failed(
    signin: SignIn, request: Request, row: IdentityProvider | None, reason: str, **detail: object
) -> None:
    async with signin.db.transaction() as session:
        audit(
            SignInRepository(session),
            signin,
            request,
            kind="sign_in_failed",
            district_id=row.district_id if row else None,
            subject=None,
            provider_id=row.id if row else None,
            reason=reason,
            **detail,
        )


@router.get(
    "/callback",
    response_model=None,
    response_class=RedirectResponse,
    status_code=303,
    responses={303: _REDIRECT},
)
async def callback(
    request: Request,
    signin: SignInDep,
    state: Annotated[str | None, Query(max_length=100, pattern=r"^[A-Za-z0-9_-]+$")] = None,
    code: Annotated[str | None, Query(max_length=2048, pattern=ASCII)] = None,
    error: Annotated[str | None, Query(max_length=100, pattern=ASCII)] = None,
    error_description: Annotated[str | None, Query(max_length=300)] = None,
) -> RedirectResponse:
    """Where the provider sends the person back: the code is exchanged, the ID token checked, and
    the person signed in (a session cookie) and sent where they were going."""
    if not state:
        raise BadRequest("the provider's answer has no state", field="state")
    cookie = request.cookies.get(LOGIN_COOKIE, "")
    if not secrets.compare_digest(cookie.encode(), state.encode()):
        raise BadRequest("this sign-in was not started in this browser; start again", field="state")
    async with signin.db.transaction() as session:
        repo = SignInRepository(session)
        attempt = await repo.take_attempt(digest(state), now=signin.clock.now())
        row = await repo.provider(attempt.provider_id) if attempt else None
        client = client_of(row, signin.box) if row else None
    if attempt is None or row is None or client is None or not row.enabled:
        raise BadRequest("this sign-in has expired or was already used; start again", field="state")
    try:
        if error or not code:
            raise SignInFailed(
                f"the provider refused: {error or 'no code'} {error_description or ''}".strip()
            )
        doc = await signin.rp.discover(client)
        tokens = await signin.rp.exchange(
            doc, client, code=code, verifier=attempt.code_verifier, redirect_uri=signin.redirect_uri
        )
        claims = await signin.rp.id_token_claims(doc, client, tokens["id_token"], nonce=attempt.nonce)
        claims = await signin.rp.with_userinfo(
            doc, claims, access_token=tokens.get("access_token"), needed=claims_needed(row)
        )
        person = person_of(row, claims)
    except SignInFailed as exc:
        await _failed(signin, request, row, exc.reason)
        raise Unauthorized(f"sign-in refused: {exc.reason}", scheme="OpenID") from exc
    person = await linked(
        person,
        district_id=row.district_id,
        signin=signin,
        http=request.app.state.http,
        settings=signin.settings,
    )
    async with signin.db.transaction() as session:
        repo = SignInRepository(session)
        value = start_session(
            repo,
            signin,
            district_id=row.district_id,
            subject=person.subject,
            roles=person.roles,
            name=person.name,
            email=person.email,
            provider_id=row.id,
            idp_subject=person.idp_subject,
            id_token=tokens["id_token"],
        )
        audit(
            repo,
            signin,
            request,
            kind="sign_in",
            district_id=row.district_id,
            subject=person.subject,
            provider_id=row.id,
            roles=list(person.roles),
            idp_subject=person.idp_subject,
        )
    response = RedirectResponse(attempt.return_to, status_code=303)
    set_session_cookie(response, signin, value)
    response.delete_cookie(LOGIN_COOKIE, path="/auth/callback")
    return response


@router.post("/dev/login", include_in_schema=False, response_model=None)
async def dev_login(
    request: Request,
    signin: SignInDep,
    repo: RepoDep,
    district_id: Annotated[str, Form(min_length=1, max_length=64)],
    subject: Annotated[str, Form(min_length=1, max_length=200)],
    roles: Annotated[list[Role], Form(min_length=1)],
    name: Annotated[str | None, Form(max_length=200)] = None,
    email: Annotated[str | None, Form(max_length=320)] = None,
    return_to: Annotated[str | None, Form(max_length=2048)] = None,
) -> RedirectResponse:
    """Sign in with the development issuer (only when it is enabled; never in production)."""
    if not signin.settings.auth_dev_issuer:
        raise Forbidden("the development issuer is off")
    value = start_session(
        repo,
        signin,
        district_id=district_id,
        subject=subject,
        roles=roles,
        name=name or None,
        email=email or None,
    )
    audit(
        repo, signin, request, kind="sign_in", district_id=district_id, subject=subject, roles=roles, dev=True
    )
    response = RedirectResponse(safe_return_to(return_to), status_code=303)
    set_session_cookie(response, signin, value)
    return response


def _same_site(request: Request) -> None:
    if request.headers.get("sec-fetch-site", "same-origin") not in ("same-origin", "none"):
        raise Forbidden("a session's tokens are given to this platform's own pages only")


@router.post("/token", response_model=TokenRead)
async def token(request: Request, signin: SignInDep) -> TokenRead:
    """A short-lived platform token for the signed-in person (the session cookie), for frontends."""
    _same_site(request)
    row = await find_session(request, signin)
    if row is None:
        raise Unauthorized("not signed in", scheme="Cookie")
    access, ttl = await session_token(signin, row)
    return TokenRead(access_token=access, expires_in=ttl)


@router.get("/session", response_model=SessionRead)
async def whoami(request: Request, signin: SignInDep) -> SessionRead:
    """Who the session cookie signs in."""
    row = await find_session(request, signin)
    if row is None:
        raise Unauthorized("not signed in", scheme="Cookie")
    return SessionRead(
        subject=row.subject,
        district_id=row.district_id,
        roles=row.roles,
        name=row.name,
        email=row.email,
        expires_at=row.expires_at.isoformat(),
    )


@router.post(
    "/logout",
    response_model=None,
    response_class=RedirectResponse,
    status_code=303,
    responses={303: _REDIRECT},
)
async def logout(request: Request, signin: SignInDep) -> RedirectResponse:
    """Sign out: the session ends here, then at the provider when it offers RP-initiated logout."""
    _same_site(request)
    async with signin.db.transaction() as session:
        repo = SignInRepository(session)
        row = await current_session(request, repo, signin)
        provider = None
        if row is not None:
            row.ended_at = signin.clock.now()
            audit(
                repo,
                signin,
                request,
                kind="sign_out",
                district_id=row.district_id,
                subject=row.subject,
                provider_id=row.provider_id,
            )
            provider = await repo.provider(row.provider_id) if row.provider_id else None
    target = "/auth/signed-out"
    if row is not None and provider is not None and row.id_token:
        try:
            doc = await signin.rp.discover(client_of(provider, signin.box))
        except SignInFailed:
            doc = None
        if doc is not None and doc.end_session_endpoint:
            query = urlencode(
                {
                    "id_token_hint": row.id_token,
                    "client_id": provider.client_id,
                    "post_logout_redirect_uri": f"{signin.settings.public_url.rstrip('/')}/auth/signed-out",
                }
            )
            target = f"{doc.end_session_endpoint}?{query}"
    response = RedirectResponse(target, status_code=303)
    clear_session_cookie(response, signin)
    return response


@router.get("/signed-out", include_in_schema=False)
async def signed_out() -> HTMLResponse:
    """The page after signing out."""
    return HTMLResponse(_SIGNED_OUT)
