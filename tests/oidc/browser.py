"""A browser on an OpenID Provider's pages, for tests: follows redirects one by one with an httpx client
(one cookie jar for the relying party and the provider, whatever their ports), fills and submits the
provider's login, consent and sign-out forms (parsed with html.parser), and stops where the provider
sends the browser back to the relying party. Generic: it knows no URL of the platform, and recognises
the provider by its authorization request (`client_id` and `response_type` in the query) or end-session
request, unless told its origin. tests/fixtures/oidc.py is the API that re-exports it."""

from __future__ import annotations

from collections.abc import Callable
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit

import httpx

DEFAULT_PASSWORD = "x"


class ProviderFlowError(AssertionError):
    """The provider's pages did not go where a browser would have gone: the response is attached."""

    def __init__(self, message: str, response: httpx.Response | None = None) -> None:
        if response is not None:
            request = f"{response.request.method} {response.url}"
            message = f"{message}: {request} -> {response.status_code} {response.text[:500]}"
        super().__init__(message)
        self.response = response


class ProviderLoginRefused(ProviderFlowError):
    """The provider showed its login form again: unknown login name or wrong password."""


class _Form:
    def __init__(self, action: str, method: str) -> None:
        self.action = action
        self.method = method
        self.fields: list[tuple[str, str, str]] = []  # (type, name, value)
        self.buttons: list[tuple[str, str]] = []  # (name, value) of named submit buttons


class _FormParser(HTMLParser):
    """Every <form> of a page with its inputs and named submit buttons."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[_Form] = []
        self._open: _Form | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {name: value or "" for name, value in attrs}
        if tag == "form":
            self._open = _Form(a.get("action", ""), a.get("method", "get").lower())
            self.forms.append(self._open)
        elif self._open is not None and tag == "input" and a.get("name"):
            self._open.fields.append((a.get("type", "text").lower(), a["name"], a.get("value", "")))
        elif (
            self._open is not None
            and tag == "button"
            and a.get("name")
            and a.get("type", "submit").lower() == "submit"
        ):
            self._open.buttons.append((a["name"], a.get("value", "")))

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._open = None


def _forms(response: httpx.Response) -> list[_Form]:
    if "html" not in response.headers.get("content-type", ""):
        return []
    parser = _FormParser()
    parser.feed(response.text)
    return parser.forms


def _origin(url: httpx.URL | str) -> str:
    parts = urlsplit(str(url))
    return f"{parts.scheme}://{parts.netloc}"


def _is_provider_request(url: httpx.URL) -> bool:
    """An authorization or end-session request, whatever the provider's paths."""
    query = parse_qs(url.query.decode())
    if "client_id" in query and "response_type" in query:
        return True
    return (
        "id_token_hint" in query or "post_logout_redirect_uri" in query or url.path.endswith("/session/end")
    )


async def _drive(
    client: httpx.AsyncClient,
    start_url: str,
    *,
    choose: Callable[[list[_Form], httpx.Response], tuple[_Form, dict[str, str]] | None],
    provider_origin: str | None,
    request_exit: bool,
    max_steps: int = 30,
) -> httpx.Response | str:
    """Follow redirects and submit the provider's forms until leaving the provider's origin.

    Returns the first response off the provider (request_exit) or the URL it sends the browser to.
    """
    method, url, data = "GET", start_url, None
    on_provider = False
    for _ in range(max_steps):
        target = httpx.URL(url)
        if provider_origin is None and _is_provider_request(target):
            provider_origin = _origin(target)
        here_provider = provider_origin is not None and _origin(target) == provider_origin
        if on_provider and not here_provider and not request_exit:
            return url
        response = await client.request(method, url, data=data, follow_redirects=False)
        if on_provider and not here_provider:
            return response
        on_provider = on_provider or here_provider
        if response.is_redirect:
            method = "POST" if response.status_code in (307, 308) and method == "POST" else "GET"
            data = data if method == "POST" else None
            url = urljoin(str(response.url), response.headers["location"])
            continue
        if not here_provider:
            raise ProviderFlowError("the start URL did not lead to the OpenID Provider", response)
        chosen = choose(_forms(response), response)
        if chosen is None:
            return response
        form, values = chosen
        action = urljoin(str(response.url), form.action or str(response.url))
        method, url = ("POST", action) if form.method == "post" else ("GET", f"{action}?{urlencode(values)}")
        data = values if method == "POST" else None
    raise ProviderFlowError(f"still at the provider after {max_steps} steps")


def _fields(form: _Form, **filled: str) -> dict[str, str]:
    values = {name: value for kind, name, value in form.fields if kind not in ("submit", "button")}
    values.update(filled)
    if form.buttons:
        name, value = form.buttons[0]
        values[name] = value
    return values


def _sign_in_chooser(
    login: str, password: str, cancel: bool
) -> Callable[[list[_Form], httpx.Response], tuple[_Form, dict[str, str]] | None]:
    submitted = {"login": False}

    def choose(forms: list[_Form], response: httpx.Response) -> tuple[_Form, dict[str, str]] | None:
        if cancel:
            for form in forms:
                if form.action.rstrip("/").endswith("/abort"):
                    return form, _fields(form)
        for form in forms:
            kinds = {kind for kind, _, _ in form.fields}
            if "password" in kinds:
                if submitted["login"]:
                    raise ProviderLoginRefused(f"the provider refused {login!r}", response)
                submitted["login"] = True
                names = [name for kind, name, _ in form.fields if kind in ("text", "email")]
                secret = next(name for kind, name, _ in form.fields if kind == "password")
                return form, _fields(form, **{names[0] if names else "login": login, secret: password})
        for form in forms:
            if not form.action.rstrip("/").endswith("/abort"):
                return form, _fields(form)  # consent, or a form_post response going back to the client
        raise ProviderFlowError("no form to submit at the provider", response)

    return choose


async def sign_in_at_provider(
    client: httpx.AsyncClient,
    start_url: str,
    *,
    login: str,
    password: str = DEFAULT_PASSWORD,
    cancel: bool = False,
    provider_origin: str | None = None,
) -> httpx.Response:
    """Sign in as `login` at the provider the start URL leads to; the first response off the provider.

    Redirects are followed one by one with `client` (its cookie jar keeps both sides' cookies); the
    provider's login form and consent form are filled and submitted; the redirect back to the client's
    `redirect_uri?code=...&state=...` is requested and its response returned, not followed. `cancel`
    presses the provider's Cancel button instead (the client gets `error=access_denied`). The provider is
    recognised by the authorization request (`client_id` and `response_type` in the query) unless
    `provider_origin` is given. A refused login raises ProviderLoginRefused.
    """
    result = await _drive(
        client,
        start_url,
        choose=_sign_in_chooser(login, password, cancel),
        provider_origin=provider_origin,
        request_exit=True,
    )
    assert isinstance(result, httpx.Response)
    return result


async def sign_out_at_provider(
    client: httpx.AsyncClient, start_url: str, *, provider_origin: str | None = None
) -> httpx.Response:
    """Follow a sign-out that goes through the provider's end-session page and confirm it there.

    Returns the first response off the provider (the client's post_logout_redirect_uri), or the
    provider's own "signed out" page when no post-logout redirect was asked for.
    """

    def choose(forms: list[_Form], response: httpx.Response) -> tuple[_Form, dict[str, str]] | None:
        for form in forms:
            if any(name == "logout" for name, _ in form.buttons):
                return form, {**_fields(form), "logout": "yes"}
        return None

    result = await _drive(
        client, start_url, choose=choose, provider_origin=provider_origin, request_exit=True
    )
    assert isinstance(result, httpx.Response)
    return result


async def authorization_response(
    client: httpx.AsyncClient,
    start_url: str,
    *,
    login: str,
    password: str = DEFAULT_PASSWORD,
    provider_origin: str | None = None,
) -> str:
    """Sign in as sign_in_at_provider does, but only return the URL the provider sends the browser back
    to (`redirect_uri?code=...&state=...&iss=...`), without requesting it: the client need not exist."""
    result = await _drive(
        client,
        start_url,
        choose=_sign_in_chooser(login, password, cancel=False),
        provider_origin=provider_origin,
        request_exit=False,
    )
    assert isinstance(result, str)
    return result


def asgi_browser(app: Any, base_url: str = "http://testserver") -> httpx.AsyncClient:
    """A browser for sign_in_at_provider when the relying party runs in-process: requests to base_url go
    to the ASGI app, every other URL (the provider) over the network; one cookie jar for both."""
    return httpx.AsyncClient(
        mounts={base_url.rstrip("/"): httpx.ASGITransport(app=app, raise_app_exceptions=False)}, timeout=10
    )
