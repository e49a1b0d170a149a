"""How the pages read their data: the services' REST APIs (the product's contract), called through the
gateway's HTTP client with the signed-in person's platform token. Never a service's database."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import httpx
from fastapi import Request

from services.gateway.signin.session import SignedIn


class ApiRefused(Exception):
    """A service answered 4xx or 5xx (or did not answer): the page says so with the same status."""

    def __init__(self, status: int, detail: str, field: str | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.field = field


class ServiceApi:
    """GETs of the services' JSON APIs on behalf of one signed-in person."""

    def __init__(self, request: Request, person: SignedIn) -> None:
        self._http: httpx.AsyncClient = request.app.state.http
        self._settings = request.app.state.settings
        self._headers = {"Authorization": f"Bearer {person.access_token}", "Accept": "application/json"}

    async def get(self, service: str, path: str, params: Mapping[str, Any] | None = None) -> Any:
        """The JSON a service answers to `GET /api/<service><path>`; ApiRefused unless it is 200."""
        url = f"{self._settings.upstream_url(service)}/api/{service}{path}"
        query = {k: v for k, v in (params or {}).items() if v not in (None, "")}
        try:
            r = await self._http.get(url, params=query, headers=self._headers)
        except httpx.HTTPError as exc:
            raise ApiRefused(502, f"the {service} service did not answer ({type(exc).__name__})") from exc
        if r.status_code != 200:
            raise ApiRefused(*_problem(r))
        return r.json()

    async def get_or_none(self, service: str, path: str, params: Mapping[str, Any] | None = None) -> Any:
        """As `get`, but None when the service answers 403 or 404 (a part the person may not see)."""
        try:
            return await self.get(service, path, params)
        except ApiRefused as refused:
            if refused.status in (403, 404):
                return None
            raise

    async def gather(self, *calls: Any) -> list[Any]:
        """Several calls at once, in order."""
        return list(await asyncio.gather(*calls))


def _problem(r: httpx.Response) -> tuple[int, str, str | None]:
    try:
        body = r.json()
    except ValueError:
        return r.status_code, r.text[:200] or r.reason_phrase, None
    errors = body.get("errors") if isinstance(body, dict) else None
    field = errors[0].get("field") if errors and isinstance(errors[0], dict) else None
    detail = body.get("detail") or body.get("title") or r.reason_phrase if isinstance(body, dict) else r.text
    return r.status_code, str(detail), field
