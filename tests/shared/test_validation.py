"""The input rules of `shared.validation`, as properties over all inputs, and the request guard."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import math
import string
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from fastapi import Depends, FastAPI
from hypothesis import given
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from shared.auth import DevIssuer, TokenVerifier
from shared.errors import Unauthorized, install_problem_handlers
from shared.validation import (
    INT16_MAX,
    INT32_MAX,
    INT64_MAX,
    MAX_DATE,
    MAX_MOMENT,
    MIN_DATE,
    MIN_MOMENT,
    NUL,
    Day,
    Int16,
    Int32,
    Int64,
    Moment,
    bad_text,
    first_bad,
    in_range,
    plain_json,
    refuse_bad_input,
)

clean_text = st.text(st.characters(codec="utf-8", exclude_characters=NUL))
names = st.text(string.ascii_letters, min_size=1, max_size=8)
scalars = (
    st.none()
    | st.booleans()
    | st.integers(-INT64_MAX - 1, INT64_MAX)
    | st.floats(allow_nan=False, allow_infinity=False)
    | clean_text
)
documents = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(clean_text, inner, max_size=4),
    max_leaves=20,
)
bad_values = (
    st.tuples(clean_text, clean_text).map(lambda t: t[0] + NUL + t[1])
    | st.sampled_from([math.inf, -math.inf, math.nan, "\ud800x"])
    | st.integers(INT64_MAX + 1)
    | st.integers(max_value=-INT64_MAX - 2)
)


@given(clean_text, clean_text)
def test_any_text_holding_nul_is_refused_and_any_other_unicode_text_accepted(before: str, after: str) -> None:
    assert bad_text(before + after) is None
    assert bad_text(before + NUL + after) is not None


@given(documents)
def test_a_document_of_clean_values_has_nothing_bad(doc: Any) -> None:
    assert first_bad(doc) is None


@given(documents, st.lists(names | st.integers(0, 3), min_size=1, max_size=4), bad_values)
def test_one_bad_value_anywhere_in_a_document_is_found_at_its_path(
    doc: Any, path: list[Any], bad: Any
) -> None:
    """The bad value is put under `path` (dict keys, list indices), the rest of `doc` beside it."""
    node: Any = bad
    for step in reversed(path):
        node = {step: node} if isinstance(step, str) else [*([None] * step), node]
    found = first_bad([node, doc])
    assert found is not None
    assert found[0] == ".".join(["0", *(str(p) for p in path)])


@given(documents, st.lists(names | st.integers(0, 3), max_size=4), bad_values | scalars)
def test_a_document_plain_json_passes_holds_no_bad_text(doc: Any, path: list[Any], value: Any) -> None:
    node: Any = value
    for step in reversed(path):
        node = {step: node} if isinstance(step, str) else [*([None] * step), node]
    found = first_bad([doc, node])
    if plain_json([doc, node]):  # only numbers are left for the fields that store them to judge
        assert found is None or "number" in found[1] or "integer" in found[1]
    else:
        assert found is not None or "\\u0000" in json.dumps([doc, node])


@given(clean_text, clean_text)
def test_a_key_holding_nul_is_found_and_named_escaped(before: str, after: str) -> None:
    found = first_bad({"fine": 1, "outer": {before + NUL + after: 1}})
    assert found is not None
    assert found[0] == "outer." + (before + "\\u0000" + after).replace(NUL, "\\u0000")


@given(st.dates())
def test_a_date_is_accepted_exactly_within_the_supported_range(day: dt.date) -> None:
    inside = MIN_DATE <= day <= MAX_DATE
    assert in_range(day) is inside
    for value in (day, day.isoformat()):
        try:
            assert TypeAdapter(Day).validate_python(value) == day
            assert inside
        except ValidationError:
            assert not inside
    assert inside is _accepted_json(Day, f'"{day.isoformat()}"')


offsets = st.integers(-14 * 60, 14 * 60).map(lambda m: dt.timezone(dt.timedelta(minutes=m)))


@given(st.datetimes(timezones=offsets))
def test_a_timestamp_is_accepted_exactly_when_its_utc_time_is_within_the_range(moment: dt.datetime) -> None:
    naive, offset = moment.replace(tzinfo=None), moment.utcoffset()
    assert offset is not None
    # moment - offset would overflow near years 1 and 9999: compare with the bounds moved instead
    inside = (MIN_MOMENT.replace(tzinfo=None) + offset) <= naive <= (MAX_MOMENT.replace(tzinfo=None) + offset)
    assert in_range(moment) is inside
    assert inside is _accepted_json(Moment, json.dumps(moment.isoformat()))


@given(st.datetimes())
def test_a_timestamp_without_a_time_zone_is_refused(moment: dt.datetime) -> None:
    assert not _accepted_json(Moment, json.dumps(moment.isoformat()))


@pytest.mark.parametrize(("kind", "high"), [(Int16, INT16_MAX), (Int32, INT32_MAX), (Int64, INT64_MAX)])
@given(value=st.integers() | st.integers(-(2**70), 2**70))
def test_an_integer_is_accepted_exactly_within_its_column(kind: Any, high: int, value: int) -> None:
    assert (-high - 1 <= value <= high) is _accepted_json(kind, str(value))


def _accepted_json(kind: Any, text: str) -> bool:
    try:
        TypeAdapter(kind).validate_json(text)
    except ValidationError:
        return False
    return True


def _guarded_app() -> FastAPI:
    """An app with the guard, a path and a query parameter and a free-form JSON body."""
    app = FastAPI(dependencies=[Depends(refuse_bad_input)])
    install_problem_handlers(app)

    @app.post("/things/{name}")
    async def thing(name: str, body: dict[str, Any], q: str = "") -> dict[str, str]:
        return {"name": name}

    return app


GUARDED = _guarded_app()


def post(*requests: dict[str, Any]) -> list[httpx.Response]:
    """Send requests in turn to the guarded app on one client."""

    async def send() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=GUARDED)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return [await client.post(**request) for request in requests]

    return asyncio.run(send())


@given(clean_text, clean_text, st.sampled_from(["path", "query", "body"]))
def test_the_guard_refuses_nul_in_any_parameter_or_field_naming_it_and_serves_the_next_request(
    before: str, after: str, where: str
) -> None:
    bad = before + NUL + after
    name, query, body = "fine", {"q": "fine"}, {"a": {"b": ["fine"]}}
    expected = {"path": "name", "query": "q", "body": "a.b.0"}[where]
    if where == "path":
        name = bad.replace("/", "_")  # a decoded slash would leave the route
    elif where == "query":
        query = {"q": bad}
    else:
        body = {"a": {"b": [bad]}}
    refused, served = post(
        {"url": f"/things/{quote(name, safe='')}", "params": query, "json": body},
        {"url": "/things/fine", "params": {"q": "fine"}, "json": {"a": 1}},
    )
    assert refused.status_code == 422, refused.text
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert refused.json()["errors"][0]["field"] == expected
    assert served.status_code == 200


@pytest.mark.parametrize("raw", ["1e400", "-1e400", "NaN", "Infinity", "9" * 400])
def test_the_guard_refuses_numbers_no_column_holds(raw: str) -> None:
    content = f'{{"x": {raw}}}'
    (r,) = post({"url": "/things/fine", "content": content, "headers": {"content-type": "application/json"}})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "x", r.text


@pytest.fixture(scope="module")
def verifier(tmp_path_factory: pytest.TempPathFactory) -> tuple[DevIssuer, TokenVerifier]:
    """A verifier trusting a dev issuer of its own."""
    issuer = DevIssuer(
        issuer="http://127.0.0.1/auth/dev",
        audience="edtech-platform",
        key_file=str(tmp_path_factory.mktemp("validation") / "key.pem"),
    )
    return issuer, TokenVerifier([], dev_issuer=issuer)


@given(st.text(max_size=80), st.text(max_size=210))
def test_a_token_is_usable_only_when_its_district_and_subject_fit_the_columns(
    verifier: tuple[DevIssuer, TokenVerifier], district: str, subject: str
) -> None:
    issuer, tokens = verifier
    usable = bool(district) and len(district) <= 64 and len(subject) <= 200
    usable = usable and NUL not in district + subject
    token = issuer.mint(subject=subject, district_id=district, roles=["teacher"])
    try:
        principal = asyncio.run(tokens.verify(token))
    except Unauthorized:
        assert not usable
    else:
        assert usable and (principal.district_id, principal.subject) == (district, subject)
