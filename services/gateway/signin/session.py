"""The web pages' session: an HTTP-only cookie naming a session row, and the platform tokens a
session obtains. The cookie holds 32 random bytes; the table keeps only their SHA-256."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

from fastapi import Request
from starlette.responses import Response

from services.gateway.models import AuthEvent, WebSession
from services.gateway.signin.repository import SignInRepository
from services.gateway.signin.runtime import SignIn
from shared.auth import Principal
from shared.config import Role

SESSION_COOKIE = "edtech_session"
LOGIN_COOKIE = "edtech_login"
"""Binds a sign-in in progress to the browser that started it (the state it must come back with)."""
LOGIN_PATH = "/auth/login"


@dataclass(frozen=True)
class SignedIn:
    """A signed-in person and a platform token to call the services' APIs for them."""

    principal: Principal
    access_token: str


def digest(value: str) -> str:
    """The SHA-256 (hex) a cookie or state value is stored as."""
    return hashlib.sha256(value.encode()).hexdigest()


def safe_return_to(value: str | None, default: str = "/") -> str:
    """A same-site path to return to after signing in (anything else becomes `default`)."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return default
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or any(ord(c) < 0x20 for c in value):
        return default
    return value


def login_url(return_to: str) -> str:
    """Where to send someone who must sign in first, to come back to `return_to`."""
    return f"{LOGIN_PATH}?return_to={quote(safe_return_to(return_to), safe='')}"


def client_address(request: Request) -> str | None:
    """The client's address (uvicorn resolves X-Forwarded-For from the edge)."""
    return request.client.host if request.client else None


def audit(
    repo: SignInRepository,
    signin: SignIn,
    request: Request,
    *,
    kind: str,
    district_id: str | None,
    subject: str | None,
    provider_id: uuid.UUID | None = None,
    **detail: object,
) -> None:
    """Record a sign-in, a failed sign-in, a sign-out or a provider change: who, when, from where."""
    repo.add(
        AuthEvent(
            id=uuid.uuid4(),
            district_id=district_id,
            at=signin.clock.now(),
            kind=kind,
            subject=subject,
            provider_id=provider_id,
            address=client_address(request),
            user_agent=(request.headers.get("user-agent") or "")[:400] or None,
            detail={k: v for k, v in detail.items() if v is not None},
        )
    )


def start_session(
    repo: SignInRepository,
    signin: SignIn,
    *,
    district_id: str,
    subject: str,
    roles: Sequence[Role],
    name: str | None,
    email: str | None,
    provider_id: uuid.UUID | None = None,
    idp_subject: str | None = None,
    id_token: str | None = None,
) -> str:
    """A new session; returns the cookie value (only its digest is stored)."""
    value = secrets.token_urlsafe(32)
    now = signin.clock.now()
    repo.add(
        WebSession(
            id_hash=digest(value),
            district_id=district_id,
            subject=subject,
            roles=list(roles),
            name=name,
            email=email,
            provider_id=provider_id,
            idp_subject=idp_subject,
            id_token=id_token,
            created_at=now,
            expires_at=now + dt.timedelta(hours=signin.settings.session_hours),
        )
    )
    return value


def set_session_cookie(response: Response, signin: SignIn, value: str) -> None:
    """Hand the browser its session: HTTP-only, SameSite=Lax, Secure behind https."""
    response.set_cookie(
        SESSION_COOKIE,
        value,
        max_age=int(signin.settings.session_hours * 3600),
        path="/",
        httponly=True,
        secure=signin.secure_cookies,
        samesite="lax",
    )


def clear_session_cookie(response: Response, signin: SignIn) -> None:
    """Make the browser forget its session."""
    response.delete_cookie(
        SESSION_COOKIE, path="/", httponly=True, secure=signin.secure_cookies, samesite="lax"
    )


async def current_session(request: Request, repo: SignInRepository, signin: SignIn) -> WebSession | None:
    """The live session the request's cookie names, if any."""
    value = request.cookies.get(SESSION_COOKIE)
    if not value or len(value) > 200:
        return None
    return await repo.live_session(digest(value), now=signin.clock.now())


async def find_session(request: Request, signin: SignIn) -> WebSession | None:
    """`current_session` in a transaction of its own, closed before any token is signed."""
    async with signin.db.transaction() as session:
        return await current_session(request, SignInRepository(session), signin)


def principal_of(row: WebSession, token: str = "") -> Principal:
    """The principal a session stands for."""
    return Principal(
        subject=row.subject,
        district_id=row.district_id,
        roles=frozenset(row.roles),  # type: ignore[arg-type]
        name=row.name,
        email=row.email,
        token=token,
    )


async def session_token(signin: SignIn, row: WebSession) -> tuple[str, int]:
    """A platform token for a session's person (never outliving the session)."""
    token, ttl = await signin.issuer.mint(
        subject=row.subject,
        district_id=row.district_id,
        roles=row.roles,  # type: ignore[arg-type]
        name=row.name,
        email=row.email,
        extra={"sid": row.id_hash[:16], **({"idp": str(row.provider_id)} if row.provider_id else {})},
    )
    return token, ttl


async def signed_in(request: Request) -> SignedIn | None:
    """FastAPI dependency of the web pages: the signed-in person, or None without a live session."""
    signin: SignIn = request.app.state.signin
    row = await find_session(request, signin)
    if row is None:
        return None
    token, _ = await session_token(signin, row)
    return SignedIn(principal=principal_of(row, token), access_token=token)
