"""What every input may hold, defined once: bad input is a 4xx naming the field, never a 500.

Rules:
- Text holds no NUL character (U+0000) and no lone surrogate. PostgreSQL stores no NUL in text or
  JSON (asyncpg refuses to send one), and neither database takes a string that is not Unicode;
  SQLite would store a NUL, but the embedded default keeps the rule of production.
- Numbers are finite (a JSON `1e400` parses as infinity, `NaN` and `Infinity` as themselves) and
  integers fit the widest column (BigInteger, 64 bits). Each schema field also states its own
  bounds, within its column (`Int16`, `Int32`, `Int64` for SmallInteger, Integer, BigInteger;
  `Numeric(p, s)` and the like by an explicit `le`), so they are in the OpenAPI document too.
- Dates and timestamps lie within 1900-01-01 .. 2199-12-31 (UTC). The platform's dates are school
  calendars, licenses, pilots and usage events, none of them outside those years; and every date
  the services compute from one (windows of a few years, school years, month ends, retention
  periods, renewal notices of up to ten years) then stays far inside Python's years 1..9999 and
  PostgreSQL's range, where years 1 and 9999 overflowed.

Where each rule is applied:
- `refuse_bad_input`: a dependency of every app (`shared.service.create_service_app` and the
  gateway): path and query parameters, and JSON bodies (the field named by its dotted path); the
  analytics webhooks, served in front of FastAPI, check their parameters with
  `first_bad_parameter`;
- `Day`, `Moment`, `Int16`, `Int32`, `Int64`: the types of request schemas and query parameters;
- `first_bad` (after `plain_json` on hot paths) and `in_range`: for input parsed by hand (webhook
  events, one by one, so a bad event is rejected by its index and the others kept; roster cells;
  `YYYY-MM` months).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable
from typing import Annotated, Any

import orjson
from fastapi import Request
from pydantic import AwareDatetime, Field

from shared.errors import Unprocessable

NUL = "\x00"
MIN_DATE = dt.date(1900, 1, 1)
MAX_DATE = dt.date(2199, 12, 31)
MIN_MOMENT = dt.datetime.combine(MIN_DATE, dt.time(), dt.UTC)
MAX_MOMENT = dt.datetime.combine(MAX_DATE, dt.time.max, dt.UTC)
DATE_RANGE = f"{MIN_DATE.isoformat()} .. {MAX_DATE.isoformat()}"
"""The supported dates, as messages name them."""

INT16_MAX = 2**15 - 1
INT32_MAX = 2**31 - 1
INT64_MAX = 2**63 - 1

_DATE_SCHEMA = {"formatMinimum": MIN_DATE.isoformat(), "formatMaximum": MAX_DATE.isoformat()}

Day = Annotated[dt.date, Field(ge=MIN_DATE, le=MAX_DATE, json_schema_extra=_DATE_SCHEMA)]
"""A calendar date within the supported range."""
Moment = Annotated[
    AwareDatetime,
    Field(
        ge=MIN_MOMENT,
        le=MAX_MOMENT,
        json_schema_extra={
            "formatMinimum": f"{MIN_DATE}T00:00:00Z",
            "formatMaximum": f"{MAX_DATE}T23:59:59Z",
        },
    ),
]
"""A timestamp with a time zone, within the supported range."""

Int16 = Annotated[int, Field(ge=-INT16_MAX - 1, le=INT16_MAX)]
"""An integer a SmallInteger column holds. Narrow it with `Annotated[Int16, Field(ge=...)]`: a
`Field(...)` default of the same bound would be overridden by this one."""
Int32 = Annotated[int, Field(ge=-INT32_MAX - 1, le=INT32_MAX)]
"""An integer an Integer column holds (narrow it as `Int16` says)."""
Int64 = Annotated[int, Field(ge=-INT64_MAX - 1, le=INT64_MAX)]
"""An integer a BigInteger column holds (narrow it as `Int16` says)."""


def in_range(value: dt.date) -> bool:
    """Whether a date (or a timestamp, by its UTC date when it has a zone) is a supported one."""
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            return MIN_MOMENT <= value <= MAX_MOMENT
        value = value.date()
    return MIN_DATE <= value <= MAX_DATE


def bad_text(value: str) -> str | None:
    """Why a string is not acceptable input (None when it is)."""
    if NUL in value:
        return "must not contain the NUL character (U+0000)"
    if not value.isascii():
        try:
            value.encode()
        except UnicodeEncodeError:  # Python's JSON parser lets `\ud800` through; no database takes it
            return "must be Unicode text (it holds a lone surrogate)"
    return None


def bad_value(value: Any) -> str | None:
    """Why one JSON scalar is not acceptable input (None when it is)."""
    if isinstance(value, str):
        return bad_text(value)
    if isinstance(value, float) and not math.isfinite(value):
        return "must be a finite number"
    if isinstance(value, int) and not isinstance(value, bool) and not -INT64_MAX - 1 <= value <= INT64_MAX:
        return "must be an integer of at most 64 bits"
    return None


def _key(key: Any) -> str:
    return str(key).replace(NUL, "\\u0000")


def first_bad(doc: Any, path: str = "") -> tuple[str, str] | None:
    """(dotted path, reason) of the first unacceptable value or key in a parsed JSON document.

    The path is how problem documents name a field (`tool.subjects.0`); a key holding NUL is
    named with `\\u0000`. The root itself is named `body`.
    """
    if isinstance(doc, dict):
        for key, value in doc.items():
            here = f"{path}.{_key(key)}" if path else _key(key)
            if isinstance(key, str) and (reason := bad_text(key)):
                return here, f"the key {reason}"
            if (found := first_bad(value, here)) is not None:
                return found
        return None
    if isinstance(doc, list):
        for index, value in enumerate(doc):
            if (found := first_bad(value, f"{path}.{index}" if path else str(index))) is not None:
                return found
        return None
    reason = bad_value(doc)
    return None if reason is None else (path or "body", reason)


def plain_json(doc: Any) -> bool:
    """Whether a parsed JSON document surely holds no NUL and no lone surrogate, at native speed:
    orjson writes it (it refuses lone surrogates and integers past 64 bits) with no NUL escape.

    It does not judge floats (orjson writes infinity as null): for the hot path (webhook events)
    before `first_bad`, where the fields that store a number check it themselves.
    """
    try:
        return b"\\u0000" not in orjson.dumps(doc)
    except orjson.JSONEncodeError:
        return False


def first_bad_parameter(params: Iterable[tuple[str, Any]]) -> tuple[str, str] | None:
    """(name, reason) of the first path or query parameter holding text no database stores."""
    for name, value in params:
        reason = bad_text(name) or (bad_text(value) if isinstance(value, str) else None)
        if reason:
            return _key(name), f"parameter {_key(name)} {reason}"
    return None


def _is_json(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or (media.startswith("application/") and media.endswith("+json"))


async def refuse_bad_input(request: Request) -> None:
    """Refuse (422, naming it) a path or query parameter holding NUL, and a JSON body holding NUL
    or a number no column holds; the route's own schema checks everything else."""
    params = [*request.path_params.items(), *request.query_params.multi_items()]
    if (bad := first_bad_parameter(params)) is not None:
        raise Unprocessable(bad[1], field=bad[0])
    if not _is_json(request.headers.get("content-type", "")) or not await request.body():
        return
    try:
        doc = await request.json()  # parsed once: FastAPI has parsed it already for the route
    except ValueError:
        return  # not JSON after all: the route says so (or ignores the body)
    found = first_bad(doc)
    if found is not None:
        field, reason = found
        raise Unprocessable(f"{field}: {reason}", field=field)
