"""Dependencies of the sign-in routes: the runtime, a transaction, and the bearer's principal."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from services.gateway.signin.repository import SignInRepository
from services.gateway.signin.runtime import SignIn
from shared.auth import Principal, TokenVerifier
from shared.errors import Forbidden, Unauthorized


def get_signin(request: Request) -> SignIn:
    """The gateway's sign-in runtime."""
    signin: SignIn = request.app.state.signin
    return signin


SignInDep = Annotated[SignIn, Depends(get_signin)]


async def get_repository(signin: SignInDep) -> AsyncIterator[SignInRepository]:
    """The request's transaction, committed before the response is sent."""
    async with signin.db.transaction() as session:
        yield SignInRepository(session)


RepoDep = Annotated[SignInRepository, Depends(get_repository, scope="function")]

_bearer = HTTPBearer(auto_error=False, description="A platform token (POST /auth/token) or an OIDC token")


async def _principal(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> Principal:
    if credentials is None:
        raise Unauthorized("a bearer token is required")
    verifier: TokenVerifier = request.app.state.verifier
    return await verifier.verify(credentials.credentials)


async def _district_staff(principal: Annotated[Principal, Depends(_principal)]) -> Principal:
    if not principal.has_any("edtech", "admin"):
        raise Forbidden("only the district's edtech or administrator may see its sign-in settings")
    return principal


async def _edtech(principal: Annotated[Principal, Depends(_principal)]) -> Principal:
    if not principal.has_any("edtech"):
        raise Forbidden("only the district's edtech may change its identity providers")
    return principal


DistrictStaff = Annotated[Principal, Depends(_district_staff)]
Edtech = Annotated[Principal, Depends(_edtech)]
