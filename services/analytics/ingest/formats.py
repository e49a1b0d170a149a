"""Turn each accepted wire format into normalized events, keeping malformed items apart by index.

Tools: an integration bound to a tool (`integration.tool_id`) stamps that tool on every event;
only an unbound integration may name the tool per event (platform JSON `tool_id`).

People: platform JSON names them by OneRoster sourcedId. The other formats give every identifier
their actor carries as keys (`identity.keys`), best first, for `identity.resolve` to match against
the roster; until it does, the event keeps the actor's own name (an IRI's last path segment,
`https://lms.example/users/u-17` -> `u-17`; an xAPI account name or email; Canvas's SIS or user id).

Kinds: each standard's verb, action or event name goes through the integration's vocabulary
(`ingest.vocabulary`); a name it knows to count nothing is `activity`, an unknown one
`unrecognized` (kept with the name, reported per integration), never a feature.

Values (`shared.validation`): an event holding anywhere a NUL character or a number no column
holds, a time outside the supported dates or a duration longer than a day is rejected by its
index, and the others of its delivery are kept.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Callable
from typing import Any

import orjson
from pydantic import ValidationError

from services.analytics.identity import keys
from services.analytics.ingest.schemas import (
    ACTIVITY,
    MAX_DURATION_S,
    UNRECOGNIZED,
    ErrorDetail,
    Normalized,
    PlatformEvent,
)
from services.analytics.ingest.vocabulary import DEFAULT, Vocabulary
from shared.errors import Unprocessable
from shared.validation import DATE_RANGE, first_bad, in_range, plain_json

Item = Normalized | list[dict[str, str]]
"""A normalized event, or the errors that made an item unusable."""

CALIPER_VERSIONS = frozenset(
    {"http://purl.imsglobal.org/ctx/caliper/v1p1", "http://purl.imsglobal.org/ctx/caliper/v1p2"}
)
_DURATION = re.compile(
    r"^P(?:(\d+(?:\.\d+)?)D)?(?:T(?:(\d+(?:\.\d+)?)H)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)S)?)?$"
)


class ItemError(ValueError):
    """One item of a delivery is unusable; `field` names the culprit."""

    def __init__(self, message: str, field: str = "event") -> None:
        super().__init__(message)
        self.field = field


def normalize_tool(value: str) -> str:
    """A tool id in canonical form (UUIDs lower-case hyphenated)."""
    try:
        return str(uuid.UUID(value))
    except ValueError:
        return value


def _tool(bound: str | None, named: str | None) -> str:
    if bound and named and normalize_tool(named) != bound:
        raise ItemError(f"this integration posts events of tool {bound} only", "tool_id")
    return bound or (normalize_tool(named) if named else "")


def _each(items: list[Any], convert: Callable[[Any], Normalized]) -> list[Item]:
    out: list[Item] = []
    for raw in items:
        try:
            # a NUL, a lone surrogate, a huge number: this event only, by its index (the one number
            # stored, PlatformEvent.duration_s, refuses infinity itself)
            bad = None if plain_json(raw) else first_bad(raw)
            if bad is not None:
                raise ItemError(f"{bad[0]} {bad[1]}", bad[0])
            out.append(convert(raw))
        except ValidationError as exc:
            out.append(
                [
                    {"field": ".".join(str(p) for p in e["loc"]) or "event", "message": e["msg"]}
                    for e in exc.errors(include_url=False)
                ]
            )
        except ItemError as exc:
            out.append([{"field": exc.field, "message": str(exc)}])
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            out.append([{"field": "event", "message": f"malformed event: {exc}"}])
    return out


def _batch(doc: Any, key: str) -> tuple[list[Any], bool]:
    """(items, is_batch): a JSON array, an object with `key` holding one, or a single object."""
    if isinstance(doc, list):
        return doc, True
    if isinstance(doc, dict) and isinstance(doc.get(key), list):
        return doc[key], True
    if isinstance(doc, dict):
        return [doc], False
    raise Unprocessable("the body must be a JSON object or array", field="body")


def parse_platform(
    doc: Any, *, tool_id: str | None, vocabulary: Vocabulary = DEFAULT
) -> tuple[list[Item], bool]:
    """Platform JSON: one event object, an array of them, or `{"events": [...]}` (our own kinds:
    `vocabulary` has nothing to say about them)."""
    items, is_batch = _batch(doc, "events")

    def convert(raw: Any) -> Normalized:
        ev = PlatformEvent.model_validate(raw)
        error = None
        if ev.type == "error":
            error = ErrorDetail(ev.severity or "medium", ev.description, ev.class_period, ev.category)
        return Normalized(
            ev.event_id,
            ev.type,
            ev.occurred_at.astimezone(dt.UTC),
            ev.user_id,
            _tool(tool_id, ev.tool_id),
            ev.class_id,
            ev.feature,
            ev.duration_s,
            error=error,
        )

    return _each(items, convert), is_batch


def _last_segment(value: Any) -> str:
    text = value.get("id") if isinstance(value, dict) else value
    if not isinstance(text, str) or not text:
        raise ItemError("an identifier is missing")
    parts = [p for p in re.split(r"[/:#]", text) if p]
    return (parts[-1] if parts else text)[:255]


def _when(value: Any, field: str) -> dt.datetime:
    if not isinstance(value, str):
        raise ItemError(f"{field} is required (ISO 8601 timestamp)", field)
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise ItemError(f"{field} is not an ISO 8601 timestamp", field) from exc
    if parsed.tzinfo is None:
        raise ItemError(f"{field} needs a time zone", field)
    if not in_range(parsed):
        raise ItemError(f"{field} must lie within {DATE_RANGE}", field)
    return parsed.astimezone(dt.UTC)


def _name(entity: Any) -> str | None:
    if isinstance(entity, dict):
        name = entity.get("name")
        if isinstance(name, dict):  # xAPI language map
            name = next(iter(name.values()), None)
        if isinstance(name, str) and name:
            return name[:200]
        return _last_segment(entity)[:200] if entity.get("id") else None
    return _last_segment(entity)[:200] if isinstance(entity, str) else None


def _obj(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


CONTENT_IDS = uuid.UUID("5f0c1a52-8d0e-4a51-9a3e-0f6c2b7d4e11")
"""Namespace of the ids given to events that come without one."""


def _content_id(raw: Any) -> str:
    """An id for an event sent without one: a UUID (version 5) of its content, so a sender's retry
    of the same event gets the same id and is not counted twice."""
    return str(uuid.uuid5(CONTENT_IDS, orjson.dumps(raw, option=orjson.OPT_SORT_KEYS).decode()))


def _classify(vocabulary: Vocabulary, standard: str, name: str) -> tuple[str, str | None]:
    """(kind, feature) of a verb, action or event name: unknown names keep their name, as such."""
    kind = vocabulary.kind(standard, name)
    if kind == "error":  # an integration mapped this name to an error: the name says what failed
        return kind, name[:200]
    if kind is not None:
        return kind, None
    if vocabulary.ignored(standard, name):
        return ACTIVITY, None
    return UNRECOGNIZED, name[:200]


def parse_caliper(
    doc: Any, *, tool_id: str | None, vocabulary: Vocabulary = DEFAULT
) -> tuple[list[Item], bool]:
    """The events of an IMS Caliper 1.1/1.2 envelope (checked by the caller: `data[]`)."""
    if not isinstance(doc, dict) or not isinstance(doc.get("data"), list):
        raise Unprocessable("a Caliper envelope holds its events in `data`", field="data")

    def convert(ev: Any) -> Normalized:
        if not isinstance(ev, dict):
            raise ItemError("a Caliper event is a JSON object")
        etype, action = ev.get("type"), ev.get("action")
        if not isinstance(etype, str) or not etype.endswith("Event"):
            raise ItemError(f"{etype!r} is not a Caliper event type", "type")
        if not isinstance(action, str) or not action:
            raise ItemError("action is required", "action")
        for field in ("id", "actor", "object"):
            if not ev.get(field):
                raise ItemError(f"{field} is required", field)
        kind, feature = _classify(vocabulary, "caliper", f"{etype}:{action}")
        if kind == "feature_used":
            feature = _name(ev.get("target")) or _name(ev["object"])
        user, identities = _caliper_actor(ev["actor"])
        group = ev.get("group")
        return Normalized(
            str(ev["id"])[:255],
            kind,
            _when(ev.get("eventTime"), "eventTime"),
            user,
            _tool(tool_id, None),
            _last_segment(group) if group else None,
            feature,
            identities=identities,
        )

    return _each(doc["data"], convert), True


CALIPER_IDENTIFIER_KINDS = {
    "SisSourcedId": "sis",
    "LisSourcedId": "sourced",
    "OneRosterSourcedId": "sourced",
    "AccountUserName": "username",
    "EmailAddress": "email",
    "CanvasId": "id.canvas",
    "LtiUserId": "id",
    "SystemId": "id",
    "Other": "id",
}
"""Caliper 1.2 `SystemIdentifier.identifierType` values, as identity key kinds."""


def canvas_user_keys(user_id: Any) -> list[str]:
    """A Canvas user id as keys: as sent, and as the account-local id when it is a global id.

    Canvas sends global ids (shard id x 10^13 + local id, e.g. 21070000000000042); its SIS
    exports and OneRoster `userIds` carry the local one (42).
    """
    text = str(user_id).strip() if user_id is not None else ""
    if not text:
        return []
    ids = [text]
    if text.isdigit() and len(text) > 13:
        ids.append(str(int(text) % 10**13))
    return [k for v in ids for k in (keys.key("id.canvas", v), keys.key("id", v)) if k]


def _caliper_actor(actor: Any) -> tuple[str, tuple[str, ...]]:
    """The actor's name while unmatched, and its identifier keys (typed identifiers first)."""
    found: list[str | None] = []
    name: str | None = None
    if isinstance(actor, dict):
        for other in actor.get("otherIdentifiers") or []:
            if isinstance(other, dict) and other.get("identifier"):
                kind = CALIPER_IDENTIFIER_KINDS.get(str(other.get("identifierType")), "id")
                value = str(other["identifier"])
                found.extend(keys.email_keys(value) if kind == "email" else [keys.key(kind, value)])
                if kind in ("sis", "sourced") and name is None:
                    name = value[:255]
        canvas = _obj(_obj(actor.get("extensions")).get("com.instructure.canvas"))
        found.append(keys.key("sis", canvas.get("user_sis_id")))
        found.append(keys.key("username", canvas.get("user_login")))
        found.extend(canvas_user_keys(canvas.get("entity_id")))
        if name is None and canvas.get("user_sis_id"):
            name = str(canvas["user_sis_id"])[:255]
    last = _last_segment(actor)
    found.extend(keys.account_keys(last))
    return name or last, keys.unique(found)


def _seconds(value: Any) -> float | None:
    if not isinstance(value, str):
        return None
    match = _DURATION.match(value)
    if not match:
        raise ItemError("result.duration is not an ISO 8601 duration", "result.duration")
    d, h, m, s = (float(g) if g else 0.0 for g in match.groups())
    seconds = d * 86400 + h * 3600 + m * 60 + s
    # A valid xAPI duration longer than a day ("completed after P3D", or 400 nines) is no time spent
    # in the tool that a day's rollup can count: the statement is kept, without it.
    return seconds if seconds <= MAX_DURATION_S else None


def _xapi_actor(actor: dict[str, Any]) -> tuple[str, tuple[str, ...]]:
    """An xAPI agent's name while unmatched (account name, email, openid, mbox hash) and its keys."""
    account = _obj(actor.get("account"))
    name, mbox = account.get("name"), actor.get("mbox")
    sha1, openid = actor.get("mbox_sha1sum"), actor.get("openid")
    found: list[str | None] = []
    if isinstance(name, str) and name:
        found.extend(keys.account_keys(name))
    if isinstance(mbox, str) and mbox:
        found.extend(keys.email_keys(mbox))
    if isinstance(sha1, str) and sha1:
        found.append(keys.key("sha1", sha1))
    if isinstance(openid, str) and openid:
        found.append(keys.key("openid", openid))
    user = name or mbox or openid or sha1
    if not isinstance(user, str) or not user:
        raise ItemError("actor needs an account name, mbox, mbox_sha1sum or openid", "actor")
    return user.removeprefix("mailto:")[:255], keys.unique(found)


def parse_xapi(doc: Any, *, tool_id: str | None, vocabulary: Vocabulary = DEFAULT) -> tuple[list[Item], bool]:
    """xAPI 1.0.3 / 2.0 statements: one statement or an array of them."""
    items, is_batch = (doc, True) if isinstance(doc, list) else ([doc], False)
    if not is_batch and not isinstance(doc, dict):
        raise Unprocessable("the body must be an xAPI statement or an array of them", field="body")

    def convert(st: Any) -> Normalized:
        if not isinstance(st, dict):
            raise ItemError("an xAPI statement is a JSON object")
        actor, verb, obj = st.get("actor"), st.get("verb"), st.get("object")
        if not isinstance(actor, dict):
            raise ItemError("actor is required", "actor")
        if not isinstance(verb, dict) or not isinstance(verb.get("id"), str) or not verb["id"]:
            raise ItemError("verb.id is required", "verb.id")
        if not isinstance(obj, dict):
            raise ItemError("object is required", "object")
        user, identities = _xapi_actor(actor)
        kind, feature = _classify(vocabulary, "xapi", verb["id"])
        if kind == "feature_used":
            definition = _obj(obj.get("definition"))
            feature = _name({"name": definition.get("name"), "id": obj.get("id")})
        result = _obj(st.get("result"))
        duration = _seconds(result.get("duration"))
        if kind == "time_in_tool" and duration is None:
            kind = ACTIVITY  # a session ended without saying how long it was
        activities = _obj(_obj(st.get("context")).get("contextActivities"))
        group = (activities.get("grouping") or activities.get("parent") or [None])[0]
        when = _when(st["timestamp"], "timestamp") if "timestamp" in st else dt.datetime.now(dt.UTC)
        return Normalized(
            str(st.get("id") or _content_id(st))[:255],
            kind,
            when,
            user,
            _tool(tool_id, None),
            _last_segment(group) if group else None,
            feature,
            duration,
            identities=identities,
        )

    return _each(items, convert), is_batch


def parse_canvas(
    doc: Any, *, tool_id: str | None, vocabulary: Vocabulary = DEFAULT
) -> tuple[list[Item], bool]:
    """Canvas Live Events (`{"metadata": {...}, "body": {...}}`), one or an array."""
    items, is_batch = _batch(doc, "events")

    def convert(ev: Any) -> Normalized:
        if not isinstance(ev, dict) or not isinstance(ev.get("metadata"), dict):
            raise ItemError("a Canvas live event needs `metadata`", "metadata")
        meta, body = ev["metadata"], _obj(ev.get("body"))
        name = meta.get("event_name")
        if not isinstance(name, str) or not name:
            raise ItemError("metadata.event_name is required", "metadata.event_name")
        user = meta.get("user_sis_id") or meta.get("user_id") or body.get("user_id")
        if not user:
            raise ItemError("metadata.user_id is required", "metadata.user_id")
        identities = keys.unique(
            [
                keys.key("sis", meta.get("user_sis_id")),
                keys.key("username", meta.get("user_login")),
                *canvas_user_keys(meta.get("user_id") or body.get("user_id")),
            ]
        )
        kind, feature = _classify(vocabulary, "canvas", name)
        if kind == "feature_used":
            feature = name
        elif kind == "viewed":
            feature = body.get("asset_type")
        course = meta.get("context_id") if meta.get("context_type") == "Course" else body.get("course_id")
        return Normalized(
            str(meta.get("event_id") or _content_id(ev))[:255],
            kind,
            _when(meta.get("event_time"), "metadata.event_time"),
            str(user)[:255],
            _tool(tool_id, None),
            str(course)[:255] if course else None,
            str(feature)[:200] if feature else None,
            identities=identities,
        )

    return _each(items, convert), is_batch


PARSERS = {"events": parse_platform, "caliper": parse_caliper, "xapi": parse_xapi, "canvas": parse_canvas}
