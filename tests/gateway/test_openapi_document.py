"""The combined OpenAPI document says what the API answers: every operation declares its
problem+json answers where they apply and carries request and response examples that validate
against their own schemas; /docs and /redoc render it with assets the gateway serves itself."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from html.parser import HTMLParser
from typing import Any

import httpx
import jsonschema
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from referencing import Registry
from referencing.jsonschema import DRAFT202012

from services.edge import routes
from services.gateway.app import create_app
from services.gateway.config import Settings
from shared.errors import PROBLEM_JSON
from shared.openapi import operations
from tests.fixtures.services import AppFactory, running_app

DOCUMENT_URI = "urn:edtech:openapi"


@pytest.fixture(scope="module")
async def platform(
    service_app: AppFactory, auth_settings: dict[str, Any]
) -> AsyncIterator[tuple[dict[str, Any], dict[str, FastAPI]]]:
    """The gateway's combined document over the three services on the test database, and the apps."""
    async with (
        service_app("catalog") as (catalog, _),
        service_app("pilots") as (pilots, _),
        service_app("analytics") as (analytics, _),
    ):
        apps = {"catalog": catalog, "pilots": pilots, "analytics": analytics}
        transports = {name: httpx.ASGITransport(app=app) for name, app in apps.items()}
        gateway = create_app(Settings(environment="test", **auth_settings), transports=transports)
        async with running_app(gateway) as client:
            document = (await client.get("/openapi.json")).json()
    assert "x-unavailable" not in document
    yield document, apps


def _operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    yield from operations(document)


def _role_checked(apps: dict[str, FastAPI]) -> set[tuple[str, str]]:
    """(path, method) of every route with a `require_roles` dependency, read from the routes."""
    out: set[tuple[str, str]] = set()
    for app in apps.values():
        for route in iter_route_contexts(app.routes):
            if not isinstance(route.original_route, APIRoute) or not route.include_in_schema:
                continue
            pending, calls = [route.dependant], []
            while pending:
                dependant = pending.pop()
                calls.append(getattr(dependant.call, "__qualname__", ""))
                pending.extend(dependant.dependencies)
            if any(name.startswith("require_roles.") for name in calls):
                out.update((route.path_format or "", m.lower()) for m in route.methods or ())
    return out


def test_every_error_answer_is_a_problem(platform: tuple[dict[str, Any], dict[str, FastAPI]]) -> None:
    document, _ = platform
    offenders = []
    for path, method, operation in _operations(document):
        for status, response in operation["responses"].items():
            if int(status) >= 400:
                content = response.get("content", {})
                if list(content) != [PROBLEM_JSON] or content[PROBLEM_JSON]["schema"] != {
                    "$ref": "#/components/schemas/Problem"
                }:
                    offenders.append(f"{method.upper()} {path} {status}")
    assert offenders == []
    assert {"type", "title", "status", "detail"} <= set(
        document["components"]["schemas"]["Problem"]["required"]
    )


def test_every_operation_declares_the_problems_that_apply(
    platform: tuple[dict[str, Any], dict[str, FastAPI]],
) -> None:
    document, apps = platform
    role_checked = _role_checked(apps)
    missing = []
    for path, method, operation in _operations(document):
        declared = {int(s) for s in operation["responses"]}
        parameters = operation.get("parameters", [])
        own = path.startswith(routes.GATEWAY_PREFIXES)  # sign-in: the gateway answers itself
        wanted = {429, 500} if own else {429, 500, 502, 504}
        if not routes.is_public(path) and not own:
            wanted.add(401)
        if (path, method) in role_checked:
            wanted.add(403)
        if any(p["in"] == "path" for p in parameters):
            wanted.add(404)
        if parameters or "requestBody" in operation:
            wanted.add(422)
        if "requestBody" in operation:
            wanted |= {400, 413}
        if wanted - declared:
            missing.append(f"{method.upper()} {path}: {sorted(wanted - declared)}")
    assert missing == []
    assert len(role_checked) > 40  # the rule above was checked against the real routes


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("post", "/api/catalog/vendors", 409),  # a vendor name taken
        ("post", "/api/catalog/tools/{tool_id}/transitions", 409),  # a transition the state refuses
        ("post", "/api/pilots/instruments", 409),  # an instrument code taken
        ("post", "/api/analytics/rosters/import", 415),  # not multipart or a zip
        ("post", "/api/analytics/webhooks/{integration_id}/{fmt}", 415),  # not JSON
        ("post", "/api/analytics/webhooks/{integration_id}/xapi/statements", 400),  # a bad statement
    ],
)
def test_what_the_services_raise_is_declared(
    platform: tuple[dict[str, Any], dict[str, FastAPI]], method: str, path: str, status: int
) -> None:
    document, _ = platform
    assert str(status) in document["paths"][path][method]["responses"]


def test_reads_do_not_declare_conflicts(platform: tuple[dict[str, Any], dict[str, FastAPI]]) -> None:
    document, _ = platform
    for path in ("/api/catalog/tools", "/api/catalog/vendors/{vendor_id}", "/api/pilots/pilots"):
        assert "409" not in document["paths"][path]["get"]["responses"], path


def _validator(document: dict[str, Any], schema: dict[str, Any]) -> jsonschema.Draft202012Validator:
    registry: Registry[Any] = Registry().with_resource(DOCUMENT_URI, DRAFT202012.create_resource(document))
    return jsonschema.Draft202012Validator(
        _absolute_refs(schema),
        registry=registry,
        format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER,
    )


def _absolute_refs(node: Any) -> Any:
    if isinstance(node, dict):
        return {
            k: DOCUMENT_URI + v
            if k == "$ref" and isinstance(v, str) and v.startswith("#/")
            else _absolute_refs(v)
            for k, v in node.items()
        }
    if isinstance(node, list):
        return [_absolute_refs(v) for v in node]
    return node


def test_every_body_and_response_has_an_example_that_validates(
    platform: tuple[dict[str, Any], dict[str, FastAPI]],
) -> None:
    document, _ = platform
    problems, checked = [], 0
    for path, method, operation in _operations(document):
        request = operation.get("requestBody")
        assert request is None or request.get("content"), f"{method} {path}"
        for where, body in [("request", request or {}), *operation["responses"].items()]:
            for media_type, media in body.get("content", {}).items():
                label = f"{method.upper()} {path} {where} {media_type}"
                if "example" not in media:
                    problems.append(f"{label}: no example")
                    continue
                errors = list(_validator(document, media.get("schema", {})).iter_errors(media["example"]))
                checked += 1
                if errors:
                    problems.append(f"{label}: {errors[0].message} at {list(errors[0].absolute_path)}")
    assert problems == []
    assert checked > 500


class _Assets(HTMLParser):
    """Every URL a page makes the browser load (script src, link href, img src)."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if value and (name == "src" or (tag == "link" and name == "href")):
                self.urls.append(value)


@pytest.mark.parametrize("page", ["/redoc", "/docs"])
async def test_docs_pages_load_only_assets_the_gateway_serves(
    page: str, gateway_factory: Any, platform: tuple[dict[str, Any], dict[str, FastAPI]]
) -> None:
    _, apps = platform
    transports = {name: httpx.ASGITransport(app=app) for name, app in apps.items()}
    async with gateway_factory(transports=transports) as gateway:
        html = await gateway.get(page)
        parser = _Assets()
        parser.feed(html.text)
        assets = {url: await gateway.get(url) for url in parser.urls}
        document = await gateway.get("/openapi.json")
    assert html.status_code == 200 and html.headers["content-type"].startswith("text/html")
    assert "/openapi.json" in html.text
    assert "http://" not in html.text and "https://" not in html.text  # no CDN, no web fonts
    assert len(assets) >= (1 if page == "/redoc" else 2)
    assert all(url.startswith("/docs-assets/") for url in assets)
    assert {url: r.status_code for url, r in assets.items()} == dict.fromkeys(assets, 200)
    assert all(len(r.content) > 1000 for r in assets.values())
    assert document.status_code == 200 and document.json()["paths"]
