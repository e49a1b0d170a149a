"""Typed dependencies and list conventions every service's routers use."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Coroutine
from typing import TYPE_CHECKING, Annotated, Any, Generic, TypeVar

from fastapi import Depends, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncSession

from shared.auth.tokens import Principal
from shared.config import Role
from shared.errors import Forbidden, Unauthorized

if TYPE_CHECKING:
    from shared.service import ServiceRuntime

T = TypeVar("T")

MAX_OFFSET = 1_000_000_000

FILES_BODY: dict[str, Any] = {
    "requestBody": {
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "file": {"type": "array", "items": {"type": "string", "format": "binary"}}
                    },
                }
            }
        }
    }
}
"""`openapi_extra` of a route that reads uploaded files itself (one or more `file` parts)."""
"""Deeper pages are refused with 422 (an offset past a bigint would otherwise reach the database)."""

_bearer = HTTPBearer(auto_error=False, description="OIDC access or ID token from the district's IdP")


def get_runtime(request: Request) -> ServiceRuntime:
    """The service runtime of the app handling this request."""
    runtime: ServiceRuntime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated["ServiceRuntime", Depends(get_runtime)]


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """The request's session: one transaction, committed before the response is sent."""
    async with get_runtime(request).db.transaction() as session:
        yield session


SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]


async def get_principal(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> Principal:
    """The authenticated caller (401 without a valid bearer token)."""
    if credentials is None or credentials.scheme.lower() != "bearer" or not credentials.credentials:
        raise Unauthorized("a bearer token is required (Authorization: Bearer <token>)")
    return await get_runtime(request).verifier.verify(credentials.credentials)


PrincipalDep = Annotated[Principal, Depends(get_principal)]


def require_roles(*roles: Role) -> Callable[..., Coroutine[Any, Any, Principal]]:
    """A dependency that admits callers holding one of `roles` (403 otherwise)."""

    async def dependency(principal: PrincipalDep) -> Principal:
        if not principal.has_any(*roles):
            raise Forbidden(f"this action needs one of the roles: {', '.join(roles)}")
        return principal

    return dependency


class PageParams(BaseModel):
    """`limit` and `offset` of a list request."""

    limit: int = Field(default=50, ge=1, le=500)
    offset: int = Field(default=0, ge=0, le=MAX_OFFSET)


async def page_params(
    limit: Annotated[int, Query(ge=1, le=500, description="Items per page")] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET, description="Items to skip")] = 0,
) -> PageParams:
    """Parse the paging query parameters shared by every list endpoint."""
    return PageParams(limit=limit, offset=offset)


PageDep = Annotated[PageParams, Depends(page_params)]


class Page(BaseModel, Generic[T]):
    """One page of a list: the items, the total matching, and the paging used."""

    items: list[T]
    total: int
    limit: int
    offset: int
