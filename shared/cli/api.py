"""How the command line talks to the platform's API: the base URL and a bearer token."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NoReturn

import httpx
import typer
from rich.console import Console

from shared import VERSION


def fail(message: str) -> NoReturn:
    """Report a failure in one line on stderr and exit with status 1."""
    Console(stderr=True, soft_wrap=True).print(f"error: {message}", markup=False, highlight=False)
    raise typer.Exit(1)


@dataclass
class Connection:
    """The API the commands call (the gateway in front of the services) and who calls it."""

    url: str
    token: str | None
    timeout_s: float = 60.0

    def client(self) -> httpx.Client:
        """An HTTP client for the API, with the token."""
        if not self.token:
            fail("no token: pass --token or set EDTECH_TOKEN (a bearer token of your district's IdP)")
        return httpx.Client(
            base_url=self.url.rstrip("/"),
            headers={"Authorization": f"Bearer {self.token}", "User-Agent": f"edtech-cli/{VERSION}"},
            timeout=self.timeout_s,
        )


def connection(ctx: typer.Context) -> Connection:
    """The connection the top-level options described."""
    found = ctx.find_object(Connection)
    if found is None:
        fail("no connection options")  # the callback always sets one
    return found


def answer(response: httpx.Response, *expected: int) -> Any:
    """The JSON of an expected answer; otherwise raises with the problem's detail."""
    if response.status_code in (expected or (200,)):
        return response.json()
    detail = response.text[:500]
    if response.headers.get("content-type", "").startswith("application/problem+json"):
        problem = response.json()
        detail = problem.get("detail") or problem.get("title") or detail
    fail(f"{response.request.method} {response.request.url.path}: {response.status_code} {detail}")
