"""Turn each accepted wire format into normalized events, keeping malformed items apart by index.

Tools: an integration bound to a tool (`integration.tool_id`) stamps that tool on every event;
only an unbound integration may name the tool per event (platform JSON `tool_id`). Users and
classes are matched to the roster by OneRoster sourcedId: Caliper and xAPI identifiers that are
IRIs contribute their last path segment (`https://lms.example/users/u-17` -> `u-17`).
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Callable
from typing import Any

import orjson
from pydantic import ValidationError

from services.analytics.ingest.schemas import Normalized, PlatformEvent
from shared.errors import Unprocessable

Item = Normalized | list[dict[str, str]]
"""A normalized event, or the errors that made an item unusable."""

CALIPER_VERSIONS = frozenset(
    {"http://purl.imsglobal.org/ctx/caliper/v1p1", "http://purl.imsglobal.org/ctx/caliper/v1p2"}
)
CALIPER_KINDS: dict[tuple[str, str], str] = {
    ("SessionEvent", "LoggedIn"): "login",
    ("SessionEvent", "LoggedOut"): "logout",
    ("SessionEvent", "TimedOut"): "logout",
    ("AssignableEvent", "Started"): "assignment_started",
    ("AssignableEvent", "Submitted"): "assignment_submitted",
    ("AssignableEvent", "Completed"): "assignment_completed",
    ("ToolUseEvent", "Used"): "feature_used",
    ("NavigationEvent", "NavigatedTo"): "navigated",
    ("ViewEvent", "Viewed"): "viewed",
}
CALIPER_TYPES = frozenset(t for t, _ in CALIPER_KINDS) | {
    "Event",
    "AnnotationEvent",
    "AssessmentEvent",
    "AssessmentItemEvent",
    "FeedbackEvent",
    "ForumEvent",
    "GradeEvent",
    "MediaEvent",
    "MessageEvent",
    "QuestionnaireEvent",
    "ResourceManagementEvent",
    "SearchEvent",
    "SurveyEvent",
    "ThreadEvent",
    "ToolLaunchEvent",
    "ReadingEvent",
}
XAPI_KINDS: dict[str, str] = {
    "http://adlnet.gov/expapi/verbs/logged-in": "login",
    "https://w3id.org/xapi/adl/verbs/logged-in": "login",
    "http://adlnet.gov/expapi/verbs/logged-out": "logout",
    "https://w3id.org/xapi/adl/verbs/logged-out": "logout",
    "http://adlnet.gov/expapi/verbs/submitted": "assignment_submitted",
    "http://activitystrea.ms/schema/1.0/submit": "assignment_submitted",
    "https://w3id.org/xapi/dod-isd/verbs/submitted": "assignment_submitted",
    "http://adlnet.gov/expapi/verbs/attempted": "assignment_started",
    "http://adlnet.gov/expapi/verbs/completed": "assignment_completed",
}
CANVAS_KINDS: dict[str, str] = {
    "logged_in": "login",
    "logged_out": "logout",
    "submission_created": "assignment_submitted",
    "quiz_submitted": "assignment_submitted",
    "asset_accessed": "viewed",
}
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


def parse_platform(doc: Any, *, tool_id: str | None) -> tuple[list[Item], bool]:
    """Platform JSON: one event object, an array of them, or `{"events": [...]}`."""
    items, is_batch = _batch(doc, "events")

    def convert(raw: Any) -> Normalized:
        ev = PlatformEvent.model_validate(raw)
        return Normalized(
            ev.event_id,
            ev.type,
            ev.occurred_at.astimezone(dt.UTC),
            ev.user_id,
            _tool(tool_id, ev.tool_id),
            ev.class_id,
            ev.feature,
            ev.duration_s,
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


def parse_caliper(doc: Any, *, tool_id: str | None) -> tuple[list[Item], bool]:
    """An IMS Caliper 1.1/1.2 envelope (`sensor`, `sendTime`, `dataVersion`, `data[]`)."""
    if not isinstance(doc, dict):
        raise Unprocessable("a Caliper envelope is a JSON object", field="body")
    for field in ("sensor", "sendTime", "dataVersion", "data"):
        if field not in doc:
            raise Unprocessable(f"the Caliper envelope needs `{field}`", field=field)
    if doc["dataVersion"] not in CALIPER_VERSIONS:
        raise Unprocessable(
            f"unsupported Caliper dataVersion {doc['dataVersion']!r}; accepted: "
            + ", ".join(sorted(CALIPER_VERSIONS)),
            field="dataVersion",
        )
    if not isinstance(doc["data"], list):
        raise Unprocessable("Caliper `data` must be an array", field="data")

    def convert(ev: Any) -> Normalized:
        if not isinstance(ev, dict):
            raise ItemError("a Caliper event is a JSON object")
        etype, action = ev.get("type"), ev.get("action")
        if etype not in CALIPER_TYPES:
            raise ItemError(f"unsupported Caliper event type {etype!r}", "type")
        if not isinstance(action, str) or not action:
            raise ItemError("action is required", "action")
        for field in ("id", "actor", "object"):
            if not ev.get(field):
                raise ItemError(f"{field} is required", field)
        kind = CALIPER_KINDS.get((etype, action), "feature_used")
        feature = None
        if kind in ("feature_used", "viewed", "navigated"):
            feature = (_name(ev.get("target")) if kind == "feature_used" else None) or _name(ev["object"])
            if (etype, action) not in CALIPER_KINDS:
                feature = f"{etype}:{action}"
        group = ev.get("group")
        return Normalized(
            str(ev["id"])[:255],
            kind,
            _when(ev.get("eventTime"), "eventTime"),
            _caliper_user(ev["actor"]),
            _tool(tool_id, None),
            _last_segment(group) if group else None,
            feature,
        )

    return _each(doc["data"], convert), True


def _caliper_user(actor: Any) -> str:
    if isinstance(actor, dict):
        for other in actor.get("otherIdentifiers") or []:
            if isinstance(other, dict) and other.get("identifierType") in ("SisSourcedId", "LisSourcedId"):
                return str(other["identifier"])[:255]
    return _last_segment(actor)


def _seconds(value: Any) -> float | None:
    if not isinstance(value, str):
        return None
    match = _DURATION.match(value)
    if not match:
        raise ItemError("result.duration is not an ISO 8601 duration", "result.duration")
    d, h, m, s = (float(g) if g else 0.0 for g in match.groups())
    return d * 86400 + h * 3600 + m * 60 + s


def parse_xapi(doc: Any, *, tool_id: str | None) -> tuple[list[Item], bool]:
    """xAPI 1.0.3 statements: one statement or an array of them."""
    items, is_batch = (doc, True) if isinstance(doc, list) else ([doc], False)
    if not is_batch and not isinstance(doc, dict):
        raise Unprocessable("the body must be an xAPI statement or an array of them", field="body")

    def convert(st: Any) -> Normalized:
        if not isinstance(st, dict):
            raise ItemError("an xAPI statement is a JSON object")
        actor, verb, obj = st.get("actor"), st.get("verb"), st.get("object")
        if not isinstance(actor, dict):
            raise ItemError("actor is required", "actor")
        if not isinstance(verb, dict) or not isinstance(verb.get("id"), str):
            raise ItemError("verb.id is required", "verb.id")
        if not isinstance(obj, dict):
            raise ItemError("object is required", "object")
        account = _obj(actor.get("account"))
        user = account.get("name") or actor.get("mbox") or actor.get("openid") or actor.get("mbox_sha1sum")
        if not isinstance(user, str) or not user:
            raise ItemError("actor needs an account name, mbox or openid", "actor")
        user = user.removeprefix("mailto:")
        kind = XAPI_KINDS.get(verb["id"], "feature_used")
        definition = _obj(obj.get("definition"))
        feature = (
            _name({"name": definition.get("name"), "id": obj.get("id")}) if kind == "feature_used" else None
        )
        activities = _obj(_obj(st.get("context")).get("contextActivities"))
        group = (activities.get("grouping") or activities.get("parent") or [None])[0]
        result = _obj(st.get("result"))
        when = _when(st["timestamp"], "timestamp") if "timestamp" in st else dt.datetime.now(dt.UTC)
        return Normalized(
            str(st.get("id") or _content_id(st))[:255],
            kind,
            when,
            user[:255],
            _tool(tool_id, None),
            _last_segment(group) if group else None,
            feature,
            _seconds(result.get("duration")),
        )

    return _each(items, convert), is_batch


def parse_canvas(doc: Any, *, tool_id: str | None) -> tuple[list[Item], bool]:
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
        kind = CANVAS_KINDS.get(name, "feature_used")
        feature = name if kind == "feature_used" else (body.get("asset_type") if kind == "viewed" else None)
        course = meta.get("context_id") if meta.get("context_type") == "Course" else body.get("course_id")
        return Normalized(
            str(meta.get("event_id") or _content_id(ev))[:255],
            kind,
            _when(meta.get("event_time"), "metadata.event_time"),
            str(user)[:255],
            _tool(tool_id, None),
            str(course)[:255] if course else None,
            str(feature)[:200] if feature else None,
        )

    return _each(items, convert), is_batch


PARSERS = {"events": parse_platform, "caliper": parse_caliper, "xapi": parse_xapi, "canvas": parse_canvas}
