"""Every error is RFC 9457 problem+json; validation errors name the field."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from pydantic import BaseModel, ConfigDict, Field

from shared.errors import PROBLEM_JSON, Conflict, NotFound, Unprocessable, install_problem_handlers, problem


class WidgetCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1)
    seats: int = Field(ge=0)


def build_app() -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)

    @app.post("/widgets", status_code=201)
    async def create(body: WidgetCreate) -> WidgetCreate:
        if body.name == "taken":
            raise Conflict("a widget with this name exists")
        if body.seats > 1000:
            raise Unprocessable("more seats than the district has", field="seats")
        return body

    @app.get("/widgets/{widget_id}")
    async def read(widget_id: int) -> dict[str, int]:
        raise NotFound(f"widget {widget_id} not found")

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("secret internals")

    return app


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=build_app(), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


def assert_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM_JSON
    doc: dict[str, Any] = response.json()
    assert doc["status"] == status
    assert isinstance(doc["type"], str) and doc["type"].startswith("https://")
    assert doc["title"] and doc["detail"]
    return doc


async def test_validation_error_names_the_field(client: httpx.AsyncClient) -> None:
    doc = assert_problem(await client.post("/widgets", json={"name": "", "seats": "many"}), 422)
    errors = doc["errors"]
    assert isinstance(errors, list)
    assert {e["field"] for e in errors} == {"name", "seats"}
    assert "name" in str(doc["detail"]) and "seats" in str(doc["detail"])


async def test_missing_and_unknown_fields_are_named(client: httpx.AsyncClient) -> None:
    doc = assert_problem(await client.post("/widgets", json={"name": "a", "colour": "red"}), 422)
    assert {e["field"] for e in doc["errors"]} == {"seats", "colour"}


async def test_malformed_json_is_422(client: httpx.AsyncClient) -> None:
    r = await client.post("/widgets", content=b'{"name": "a", ', headers={"content-type": "application/json"})
    doc = assert_problem(r, 422)
    assert doc["errors"][0]["field"] == "body"


async def test_bad_path_parameter_is_422_naming_it(client: httpx.AsyncClient) -> None:
    doc = assert_problem(await client.get("/widgets/abc"), 422)
    assert doc["errors"][0]["field"] == "widget_id"


async def test_unknown_route_is_a_404_problem(client: httpx.AsyncClient) -> None:
    doc = assert_problem(await client.get("/nowhere"), 404)
    assert doc["detail"] == "no route for GET /nowhere"
    assert doc["instance"] == "/nowhere"


async def test_wrong_method_is_a_405_problem(client: httpx.AsyncClient) -> None:
    assert_problem(await client.delete("/widgets"), 405)


async def test_problem_errors_render_with_their_status(client: httpx.AsyncClient) -> None:
    doc = assert_problem(await client.post("/widgets", json={"name": "taken", "seats": 1}), 409)
    assert doc["type"] == "https://edtech-platform.dev/problems/conflict"
    doc = assert_problem(await client.post("/widgets", json={"name": "a", "seats": 5000}), 422)
    assert doc["errors"] == [{"field": "seats", "message": "more seats than the district has"}]
    doc = assert_problem(await client.get("/widgets/7"), 404)
    assert doc["detail"] == "widget 7 not found"


async def test_unexpected_error_is_a_500_problem_without_internals(client: httpx.AsyncClient) -> None:
    doc = assert_problem(await client.get("/boom"), 500)
    assert "secret" not in str(doc)


def test_problem_document_shape() -> None:
    assert problem(418, "short and stout", slug="teapot") == {
        "type": "https://edtech-platform.dev/problems/teapot",
        "title": "I'm a Teapot",
        "status": 418,
        "detail": "short and stout",
    }
