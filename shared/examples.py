"""Deterministic examples built from JSON schemas, for the OpenAPI documents.

A schema's own example wins (`examples`, `example`, `const`, a non-null `default`, the first of an
`enum`); otherwise the value is built from its keywords: the first non-null branch of
`anyOf`/`oneOf`, every property of an object, one item of an array (or `minItems`), and strings,
numbers and formats chosen inside their bounds. The same schema always gives the same example,
and the example validates against it (tests/shared/test_openapi_document.py checks every one).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

REF_PREFIX = "#/components/schemas/"
MAX_DEPTH = 8
"""Past this nesting only required properties are filled in (recursive schemas stay finite)."""

_FORMATS: dict[str, str] = {
    "uuid": "3fa85f64-5717-4562-b3fc-2c963f66afa6",
    "date": "2025-09-02",
    "date-time": "2025-09-02T08:30:00Z",
    "time": "08:30:00",
    "email": "teacher@example.org",
    "uri": "https://example.org/",
    "url": "https://example.org/",
    "hostname": "example.org",
    "binary": "(file contents)",
    "byte": "ZXhhbXBsZQ==",
    "duration": "P1D",
}
_PATTERN_CANDIDATES = (
    "example",
    "example_1",
    "EX1",
    "1",
    "2025-fall",
    "teacher@example.org",
    "https://example.org/",
    "2025-09-02",
)


class Examples:
    """Builds examples for schemas that may `$ref` the components of one document."""

    def __init__(self, schemas: Mapping[str, Any]) -> None:
        self.schemas = schemas

    def resolve(self, schema: Any) -> Any:
        """`schema` with a top-level `$ref` followed (repeatedly)."""
        seen = 0
        while isinstance(schema, dict) and isinstance(schema.get("$ref"), str) and seen < 32:
            ref: str = schema["$ref"]
            if not ref.startswith(REF_PREFIX):
                return {}
            schema = self.schemas.get(ref[len(REF_PREFIX) :], {})
            seen += 1
        return schema

    def build(self, schema: Any, *, name: str = "", depth: int = 0) -> Any:
        """A value that validates against `schema` (`name`: the property it is for, if any)."""
        schema = self.resolve(schema)
        if not isinstance(schema, dict):
            return None
        own = _own_example(schema)
        if own is not _NONE:
            return own
        if "allOf" in schema:
            return self.build(self._merged(schema), name=name, depth=depth)
        for key in ("anyOf", "oneOf"):
            if key in schema:
                branches = [self.resolve(b) for b in schema[key]]
                chosen = next((b for b in branches if b.get("type") != "null"), branches[0])
                return self.build(chosen, name=name, depth=depth)
        kind = schema.get("type")
        if isinstance(kind, list):
            kind = next((k for k in kind if k != "null"), "null")
        if kind is None:
            kind = "object" if "properties" in schema else ("array" if "items" in schema else None)
        if kind == "object":
            return self._object(schema, depth)
        if kind == "array":
            count = max(1, int(schema.get("minItems", 1)))
            items = schema.get("items", {})
            if schema.get("uniqueItems") and count > 1:
                return [self.build(items, name=f"{name}_{i}", depth=depth + 1) for i in range(count)]
            return [self.build(items, name=name, depth=depth + 1)] * count
        if kind == "string":
            return _string(schema, name)
        if kind in ("integer", "number"):
            return _number(schema, integer=kind == "integer")
        if kind == "boolean":
            return True
        if kind == "null":
            return None
        return {}

    def _merged(self, schema: dict[str, Any]) -> dict[str, Any]:
        merged: dict[str, Any] = {k: v for k, v in schema.items() if k != "allOf"}
        for part in schema["allOf"]:
            part = self.resolve(part)
            for key, value in part.items():
                if key == "properties":
                    merged["properties"] = {**merged.get("properties", {}), **value}
                elif key == "required":
                    merged["required"] = sorted({*merged.get("required", []), *value})
                else:
                    merged.setdefault(key, value)
        return merged

    def _object(self, schema: dict[str, Any], depth: int) -> dict[str, Any]:
        properties: dict[str, Any] = schema.get("properties", {})
        required = set(schema.get("required", []))
        out: dict[str, Any] = {}
        for prop, sub in properties.items():
            if depth >= MAX_DEPTH and prop not in required:
                continue
            out[prop] = self.build(sub, name=prop, depth=depth + 1)
        extra = schema.get("additionalProperties")
        wanted = int(schema.get("minProperties", 0))
        if not properties and isinstance(extra, dict) and len(out) < max(wanted, 1):
            names = self.resolve(schema.get("propertyNames", {}))
            choices = [str(v) for v in names.get("enum", [])] if isinstance(names, dict) else []
            for i in range(max(wanted, 1)):
                if choices:
                    key = choices[i % len(choices)]
                elif names:
                    key = _string(names, f"key_{i + 1}")
                else:
                    key = f"key_{i + 1}"
                out[key] = self.build(extra, name=key, depth=depth + 1)
        return out


_NONE = object()


def _own_example(schema: dict[str, Any]) -> Any:
    examples = schema.get("examples")
    if isinstance(examples, list) and examples:
        return examples[0]
    for key in ("example", "const"):
        if key in schema:
            return schema[key]
    if schema.get("default") is not None:
        return schema["default"]
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        return schema["enum"][0]
    return _NONE


def _fit(text: str, schema: dict[str, Any]) -> str:
    low = int(schema.get("minLength", 0))
    high = schema.get("maxLength")
    if len(text) < low:
        text = text + "x" * (low - len(text))
    if high is not None and len(text) > int(high):
        text = text[: int(high)]
    return text


def _string(schema: dict[str, Any], name: str) -> str:
    fmt = schema.get("format")
    pattern = schema.get("pattern")
    if fmt in _FORMATS:
        return _FORMATS[fmt]
    words = name.replace("_", " ").strip()
    base = f"Example {words}" if words else "example"
    if name.endswith(("url", "uri", "website")):
        base = _FORMATS["uri"]
    elif name.endswith("email"):
        base = _FORMATS["email"]
    if pattern:
        compiled = re.compile(pattern)
        for candidate in (base, name, *_PATTERN_CANDIDATES):
            fitted = _fit(candidate, schema)
            if compiled.search(fitted):
                return fitted
    return _fit(base, schema)


def _number(schema: dict[str, Any], *, integer: bool) -> int | float:
    low = schema.get("minimum")
    if "exclusiveMinimum" in schema:
        low = schema["exclusiveMinimum"] + (1 if integer else 0.5)
    high = schema.get("maximum")
    if "exclusiveMaximum" in schema:
        high = schema["exclusiveMaximum"] - (1 if integer else 0.5)
    value: int | float = 1
    if low is not None and value < low:
        value = low
    if high is not None and value > high:
        value = high
    step = schema.get("multipleOf")
    if step and value % step:
        value = (value // step + 1) * step
    return int(value) if integer else value
