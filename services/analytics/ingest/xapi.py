"""What xAPI asks of a Learning Record Store's statement and about resources, and nothing more.

Each xAPI integration is an LRS endpoint (`.../webhooks/{integration_id}/xapi/`) for statements
sent by LMSs and learning tools (Moodle's logstore_xapi, ADL's TinCan clients...). Statements are
written, never read back: `GET statements` is answered 405.

Statements with attachments come as `multipart/mixed` (checked against their hashes, not kept).

Sources: xAPI 1.0.3 Part Three (Data Processing, Validation and Security), sections 1.3 (Error
Codes), 2.1 (Statement Resource: PUT answers 204, POST answers 200 with the array of ids) and
2.8 (About Resource); IEEE 9274.1.1 (xAPI 2.0) for version 2.0.0.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from email import policy
from email.parser import BytesParser
from typing import Any

import orjson

from shared.errors import BadRequest

VERSION_HEADER = "X-Experience-API-Version"
VERSIONS = ("1.0.3", "2.0.0")
"""The versions answered: a request's `1.0.x` is answered as 1.0.3 and `2.0.x` as 2.0.0."""
_ABOUT_1_0 = ("1.0.0", "1.0.1", "1.0.2", "1.0.3")
_VERSION = re.compile(r"^(1\.0|2\.0)(\.\d+)?$")


def negotiate(requested: str | None) -> str:
    """The version to answer with for a request's `X-Experience-API-Version` (400 when unsupported)."""
    if not requested:
        raise BadRequest(f"the {VERSION_HEADER} header is required (1.0.3 or 2.0.0)")
    match = _VERSION.match(requested.strip())
    if not match:
        raise BadRequest(f"xAPI version {requested!r} is not supported; send 1.0.3 or 2.0.0")
    return "1.0.3" if match.group(1) == "1.0" else "2.0.0"


def supported(requested: str | None) -> bool:
    """Whether a request's `X-Experience-API-Version` is one this endpoint speaks."""
    return bool(requested) and _VERSION.match(str(requested).strip()) is not None


def about(requested: str | None) -> bytes:
    """The About resource: the versions this endpoint speaks.

    A 1.0.x client is told the 1.0 versions only: ADL's TinCanPython refuses an About that lists a
    version it does not know (2.0.0), so listing it would break a client that speaks 1.0.3 fine.
    """
    if requested and requested.strip().startswith("1.0"):
        return orjson.dumps({"version": list(_ABOUT_1_0)})
    return orjson.dumps({"version": [*_ABOUT_1_0, "2.0.0"]})


def statement_id(value: Any, *, where: str) -> str:
    """A statement id in canonical form: a UUID (400 otherwise)."""
    try:
        return str(uuid.UUID(str(value)))
    except ValueError as exc:
        raise BadRequest(f"{where}: statement id {value!r} is not a UUID", field=where) from exc


def multipart_statements(content_type: str, body: bytes) -> Any:
    """The statements of a `multipart/mixed` request (statements with attachments, xAPI 1.0.3
    Part Two 2.4.11): the first part is the JSON; each attachment part must carry the SHA-256
    (`X-Experience-API-Hash`) of an attachment the statements declare. Attachments are checked,
    not kept: usage counting needs none of them."""
    message = BytesParser(policy=policy.HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode("latin-1") + body
    )
    if not message.is_multipart():
        raise BadRequest("a multipart/mixed body needs a boundary and parts", field="body")
    parts = list(message.iter_parts())
    if not parts or parts[0].get_content_type() != "application/json":
        raise BadRequest(
            "the first part of multipart/mixed must be the application/json statements", field="body"
        )
    try:
        doc = orjson.loads(_payload(parts[0]))
    except orjson.JSONDecodeError as exc:
        raise BadRequest(f"the statements part is not valid JSON: {exc}", field="body") from exc
    declared = {
        a.get("sha2")
        for st in (doc if isinstance(doc, list) else [doc])
        if isinstance(st, dict)
        for a in st.get("attachments") or []
        if isinstance(a, dict) and not a.get("fileUrl")
    }
    for index, part in enumerate(parts[1:], start=1):
        digest = part.get("X-Experience-API-Hash")
        data = _payload(part)
        if not digest or digest not in declared:
            raise BadRequest(f"attachment part {index} names no attachment of the statements", field="body")
        if hashlib.sha256(data).hexdigest() != digest:
            raise BadRequest(
                f"attachment part {index} does not match its X-Experience-API-Hash", field="body"
            )
    return doc


def _payload(part: Any) -> bytes:
    data = part.get_payload(decode=True)
    return data if isinstance(data, bytes) else b""


def statements_of(doc: Any) -> list[Any]:
    """The statements of a `POST statements` body: one statement or an array (400 otherwise)."""
    if isinstance(doc, list):
        if not doc:
            raise BadRequest("the body is an empty array of statements", field="body")
        return doc
    if isinstance(doc, dict):
        return [doc]
    raise BadRequest("the body must be a statement or an array of statements", field="body")


def put_statement(doc: Any, query_id: str | None) -> dict[str, Any]:
    """The statement of a `PUT statements?statementId=...`, its id set (400 when they disagree)."""
    if not query_id:
        raise BadRequest("PUT statements needs the statementId parameter", field="statementId")
    wanted = statement_id(query_id, where="statementId")
    if not isinstance(doc, dict):
        raise BadRequest("the body of PUT statements is one statement", field="body")
    if "id" in doc and statement_id(doc["id"], where="id") != wanted:
        raise BadRequest("the statement's id differs from statementId", field="id")
    return {**doc, "id": wanted}
