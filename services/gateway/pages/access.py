"""Who may open a page: no session sends the browser to sign in (303) and back; a role the page is
not for answers a 403 page."""

from __future__ import annotations

from fastapi import Request

from services.gateway.signin.session import SignedIn, login_url, signed_in
from shared.config import Role


class SignInFirst(Exception):
    """No live session: the browser is sent to sign in and come back to `return_to`."""

    def __init__(self, return_to: str) -> None:
        super().__init__(return_to)
        self.return_to = return_to


class NotForYou(Exception):
    """The page is not for the person's roles (or, for a teacher, not their pilot)."""

    def __init__(self, person: SignedIn, detail: str) -> None:
        super().__init__(detail)
        self.person = person
        self.detail = detail


async def person_for(request: Request, *roles: Role) -> SignedIn:
    """The signed-in person if they hold one of `roles`; SignInFirst or NotForYou otherwise."""
    person = await signed_in(request)
    if person is None:
        query = f"?{request.url.query}" if request.url.query else ""
        raise SignInFirst(request.url.path + query)
    if not person.principal.has_any(*roles):
        raise NotForYou(person, f"This page is for {' and '.join(roles)} roles.")
    return person


def sign_in_location(error: SignInFirst) -> str:
    """Where SignInFirst sends the browser."""
    return login_url(error.return_to)
