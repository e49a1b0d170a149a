"""The examples built for the OpenAPI documents validate against their schemas, for every schema of
the shapes pydantic and FastAPI generate (hypothesis draws them)."""

from __future__ import annotations

from typing import Any

import jsonschema
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.examples import Examples

FORMATS = ["uuid", "date", "date-time", "email", "uri", "binary"]
PATTERNS = [
    r"^[A-Za-z0-9_\-]+$",
    r"^\d{4}-(spring|summer|fall|winter)$",
    r"^[^@\s]+@[^@\s]+\.[^@\s]+$",
    r"^https?://\S+$",
    r"^[a-z0-9_]+$",
    r"^\d{4}-\d{2}-\d{2}$",
]
NAMES = st.text("abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=12)


@st.composite
def strings(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(st.sampled_from(["plain", "format", "pattern", "enum"]))
    if kind == "format":
        return {"type": "string", "format": draw(st.sampled_from(FORMATS))}
    if kind == "pattern":
        return {"type": "string", "pattern": draw(st.sampled_from(PATTERNS))}
    if kind == "enum":
        return {"type": "string", "enum": draw(st.lists(NAMES, min_size=1, max_size=4, unique=True))}
    low = draw(st.integers(0, 40))
    schema: dict[str, Any] = {"type": "string", "minLength": low}
    if draw(st.booleans()):
        schema["maxLength"] = draw(st.integers(max(low, 1), 80))
    return schema


@st.composite
def numbers(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(st.sampled_from(["integer", "number"]))
    schema: dict[str, Any] = {"type": kind}
    low = draw(st.none() | st.integers(-(2**40), 2**40))
    high = draw(st.none() | st.integers(-(2**40), 2**40))
    if low is not None and high is not None and low > high:
        low, high = high, low
    exclusive = draw(st.booleans()) and low is not None and high is not None and high - low >= 2
    if low is not None:
        schema["exclusiveMinimum" if exclusive else "minimum"] = low
    if high is not None:
        schema["exclusiveMaximum" if exclusive else "maximum"] = high
    return schema


LEAVES: st.SearchStrategy[dict[str, Any]] = (
    strings()
    | numbers()
    | st.just({"type": "boolean"})
    | st.just({"type": "null"})
    | st.just({})
    | st.builds(lambda v: {"const": v}, NAMES)
    | st.just({"$ref": "#/components/schemas/Leaf"})
)


def _object(properties: dict[str, Any], required: list[str], closed: bool) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    schema["required"] = [name for name in required if name in properties]
    if closed:
        schema["additionalProperties"] = False
    return schema


def _extend(children: st.SearchStrategy[dict[str, Any]]) -> st.SearchStrategy[dict[str, Any]]:
    return (
        st.builds(
            _object,
            st.dictionaries(NAMES, children, max_size=5),
            st.lists(NAMES, max_size=5),
            st.booleans(),
        )
        | st.builds(
            lambda items, low: {"type": "array", "items": items, "minItems": low}, children, st.integers(0, 3)
        )
        | st.builds(lambda s: {"anyOf": [s, {"type": "null"}]}, children)
        | st.builds(lambda s: {"anyOf": [{"type": "null"}, s]}, children)
        | st.builds(lambda s: {"allOf": [s]}, children)
        | st.builds(
            lambda values, names: {
                "type": "object",
                "additionalProperties": values,
                "propertyNames": {"enum": names},
                "minProperties": 1,
            },
            children,
            st.lists(NAMES, min_size=1, max_size=3, unique=True),
        )
        | st.builds(lambda values: {"type": "object", "additionalProperties": values}, children)
    )


SCHEMAS = st.recursive(LEAVES, _extend, max_leaves=12)
COMPONENTS = {
    "Leaf": {"type": "object", "required": ["id"], "properties": {"id": {"type": "string", "format": "uuid"}}}
}


@settings(max_examples=300, deadline=None)
@given(SCHEMAS)
def test_the_example_built_for_a_schema_validates_against_it(schema: dict[str, Any]) -> None:
    example = Examples(COMPONENTS).build(schema)
    document = {**schema, "$defs": {}, "components": {"schemas": COMPONENTS}}
    validator = jsonschema.Draft202012Validator(
        document, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )
    errors = [f"{e.message} at {list(e.absolute_path)}" for e in validator.iter_errors(example)]
    assert errors == [], (schema, example)


def test_own_examples_win_and_builds_are_deterministic() -> None:
    schema = {
        "type": "object",
        "properties": {
            "name": {"type": "string", "examples": ["Desmos"]},
            "seats": {"type": "integer", "minimum": 10},
            "term": {"type": "string", "pattern": r"^\d{4}-(spring|summer|fall|winter)$"},
        },
    }
    first = Examples({}).build(schema)
    assert first == {"name": "Desmos", "seats": 10, "term": "2025-fall"}
    assert Examples({}).build(schema) == first
